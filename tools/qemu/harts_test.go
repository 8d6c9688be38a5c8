package qemu

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/internal/fit"
	"github.com/exo-os/exo/internal/testtool"
)

// TestHartEntryOnSifiveU boots firmware/harttest (EXO_HARTTEST, built by
// `make test`) on QEMU's sifive_u with five harts, entered the way U-Boot
// SPL enters the VisionFive 2 firmware: QEMU's reset vector starts every
// hart at the DRAM base with a0 = hart id and a1 = the device tree, where
// a three-instruction stand-in for SPL jumps to the payload's entry; the
// payload is the same flat image (internal/fit) the FIT image carries.
//
// Hart 0 of sifive_u is an E51 without an FPU, like the JH7110's S7. The
// boot passes only if the Go runtime came up on one U54 while every other
// hart (hart 0 included) parked, the device tree arrived, and parked harts
// (hart 0 included) could be released to integer-only code and parked
// again. Several boots, because which U54 wins the draw varies.
func TestHartEntryOnSifiveU(t *testing.T) {
	testtool.Path(t, Binary)
	image := testtool.Env(t, "EXO_HARTTEST", "make test builds firmware/harttest and sets it")
	f, err := elf.Open(image)
	require.NoError(t, err)
	defer f.Close()
	p, err := fit.Flatten(f)
	require.NoError(t, err)
	const dram = 0x80000000
	tramp, err := fit.Trampoline(dram, p.Entry)
	require.NoError(t, err)
	dir := t.TempDir()
	payload, jump := filepath.Join(dir, "payload.bin"), filepath.Join(dir, "spl.bin")
	require.NoError(t, os.WriteFile(payload, p.Data, 0o644))
	require.NoError(t, os.WriteFile(jump, tramp, 0o644))
	args := []string{
		"-machine", "sifive_u", "-smp", "5", "-m", "512M", "-bios", "none",
		// The program ends by pulling the reset line.
		"-no-reboot",
		"-device", fmt.Sprintf("loader,file=%s,addr=%#x,force-raw=on", jump, dram),
		"-device", fmt.Sprintf("loader,file=%s,addr=%#x,force-raw=on", payload, p.Load),
		"-display", "none", "-serial", "stdio", "-monitor", "none",
	}
	winners := map[string]int{}
	for i := 0; i < 4; i++ {
		res, err := Launch(context.Background(), args, time.Minute)
		require.NoError(t, err)
		t.Logf("boot %d (%v):\n%s", i, res.Elapsed.Round(time.Millisecond), res.Console)
		require.False(t, res.TimedOut, "QEMU still running after a minute")
		require.Contains(t, res.Console, "harttest: PASS")
		require.Contains(t, res.Console, "harttest: exit status 0")
		m := regexp.MustCompile(`Go runtime on hart (\d)`).FindStringSubmatch(res.Console)
		require.NotNil(t, m)
		require.NotEqual(t, "0", m[1], "hart 0 has no FPU and must never run Go")
		winners[m[1]]++
		require.Contains(t, res.Console, "harttest: hart 0 parked")
		require.Regexp(t, `device tree copied \(\d+ bytes\), 512 MiB of DRAM at 0x80000000`, res.Console)
		require.Len(t, regexp.MustCompile(`harttest: hart \d parked`).FindAllString(res.Console, -1), 4)
		require.Contains(t, res.Console, "harttest: hart 0 released, ran the probe, parked again")
	}
	t.Logf("the Go runtime ran on harts %v", winners)
}
