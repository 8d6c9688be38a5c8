//go:build tamago && riscv64

// Package boot is the boot sequence every Exo firmware runs once its board
// is up: choose the boot manifest, prepare the hart for User mode, build
// the kernel over the board's frame pool, run it, and halt the machine with
// the kernel's exit status.
package boot

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/exo-os/exo/board"
	"github.com/exo-os/exo/kernel"
	"github.com/exo-os/exo/kernel/hart"
	"github.com/exo-os/exo/kernel/manifest"
	"github.com/exo-os/exo/kernel/mem"
)

// Run boots the kernel on m with the environment images in images (files
// named NAME.elf) and never returns.
func Run(m *board.Machine, images fs.FS, defaultManifest string) {
	fmt.Printf("exo: booting on %s, %d MiB of frames at %#x\n", m.Name, (m.Layout.PoolEnd-m.Layout.PoolStart)>>20, m.Layout.PoolStart)
	code, err := run(m, images, defaultManifest)
	if err != nil {
		fmt.Printf("exo: boot failed: %v\n", err)
		code = 1
	}
	m.Halt(code)
	for {
		m.WFI()
	}
}

func run(m *board.Machine, images fs.FS, defaultManifest string) (uint32, error) {
	imgs, err := loadImages(images)
	if err != nil {
		return 0, err
	}
	text, where := placedManifest(m.Layout)
	if text == "" {
		text, where = defaultManifest, "built in"
	}
	man, err := manifest.Parse(text)
	if err != nil {
		return 0, fmt.Errorf("%s manifest: %w", where, err)
	}
	fmt.Printf("exo: manifest (%s): %d environments, %d slots of %v\n", where, len(man.Envs), man.Slots, man.Quantum)

	frames, err := mem.NewFrames(m.Layout.PoolStart, m.Layout.PoolEnd-m.Layout.PoolStart)
	if err != nil {
		return 0, err
	}
	lo, hi := m.Layout.Protected()
	if err := hart.PrepareUserMode(lo, hi, m.Layout.PoolEnd); err != nil {
		return 0, err
	}
	asid := hart.ASIDBits()
	fmt.Printf("exo: %d ASID bits\n", asid)
	var devices []kernel.Device
	for _, d := range m.Devices {
		devices = append(devices, kernel.Device{Name: d.Name, IRQ: d.IRQ, Handle: d.Handle})
	}
	k, err := kernel.New(kernel.Config{
		Platform:   platform{m},
		CPU:        &hart.Hart{},
		Phys:       mem.Direct{},
		Frames:     frames,
		Interrupts: m.IRQ,
		Devices:    devices,
		Images:     imgs,
		NIC:        nic(m),
		Manifest:   man,
		ASIDBits:   asid,
		Protected:  [2]uint64{lo, hi},
	})
	if err != nil {
		return 0, err
	}
	return k.Run(), nil
}

func loadImages(images fs.FS) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(images, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".elf") {
			return err
		}
		b, err := fs.ReadFile(images, p)
		if err != nil {
			return err
		}
		out[strings.TrimSuffix(path.Base(p), ".elf")] = b
		return nil
	})
	return out, err
}

// nic is the board's network interface for the kernel: nil, not a typed
// nil, when it has none.
func nic(m *board.Machine) kernel.NIC {
	if m.NIC == nil {
		return nil
	}
	return m.NIC
}

// placedManifest returns a manifest placed in memory before boot (by QEMU's
// generic loader, or a boot loader), if the manifest region starts with the
// manifest magic. The text ends at the first NUL or the region's end.
func placedManifest(l board.Layout) (string, string) {
	var b []byte
	for pa := l.ManifestStart; pa < l.ManifestEnd; pa += mem.PageSize {
		page := mem.Direct{}.Page(pa)
		if i := strings.IndexByte(string(page[:]), 0); i >= 0 {
			b = append(b, page[:i]...)
			break
		}
		b = append(b, page[:]...)
	}
	if !strings.HasPrefix(string(b), manifest.Magic) {
		return "", ""
	}
	return string(b), fmt.Sprintf("placed at %#x", l.ManifestStart)
}

// platform is a board's Machine as the kernel's Platform.
type platform struct{ *board.Machine }

// Instret reads the hart's instructions-retired counter (0 where the
// board gives no way to).
func (p platform) Instret() uint64 {
	if p.ReadInstret == nil {
		return 0
	}
	return p.ReadInstret()
}

func (p platform) Serial() kernel.Serial { return p.UART }

func (p platform) Pending() kernel.Pending {
	var r kernel.Pending
	timer, device := p.Machine.Pending()
	if timer {
		r |= kernel.PendingTimer
	}
	if device {
		r |= kernel.PendingDevice
	}
	return r
}
