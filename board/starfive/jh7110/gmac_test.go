package jh7110

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/mmio/mmiotest"
)

// The expected sequences are written out as absolute addresses computed by
// hand from the sources (CRG base + 4·clock id; reset and syscon registers
// as FACTS.md gives them), not from the constants of gmac.go.
func TestPowerUpSequence(t *testing.T) {
	type step struct {
		addr        uintptr
		value, mask uint32
		wait        bool
	}
	for _, tc := range []struct {
		name string
		port GMACPort
		want []step
	}{
		{"v1.3B gmac0", VF2v13BGMAC0, []step{
			{0x1701000c, 1 << 18, 7 << 18, false},    // RGMII = 1 at aon_syscon 0xc, shift 0x12
			{0x17000014, 1 << 24, 0x3f << 24, false}, // AONCLK_GMAC0_TX (5) mux ← RMII_RTX
			{0x1700000c, 1 << 31, 1 << 31, false},    // AONCLK_GMAC0_AXI (3)
			{0x17000008, 1 << 31, 1 << 31, false},    // AONCLK_GMAC0_AHB (2)
			{0x130201b4, 1 << 31, 1 << 31, false},    // SYSCLK_GMAC0_PTP (109)
			{0x17000014, 1 << 31, 1 << 31, false},    // AONCLK_GMAC0_TX (5)
			{0x130201b0, 1 << 31, 1 << 31, false},    // SYSCLK_GMAC0_GTXCLK (108)
			{0x130201bc, 1 << 31, 1 << 31, false},    // SYSCLK_GMAC0_GTXC (111)
			{0x17000038, 0, 3, false},                // aon reset assert, bits 0-1
			{0x1700003c, 3, 3, true},                 // aon reset status
		}},
		{"v1.2A gmac0", VF2v12AGMAC0, []step{
			{0x1701000c, 1 << 18, 7 << 18, false},
			{0x17000014, 0, 0x3f << 24, false}, // TX ← gmac0_gtxclk
			{0x1700000c, 1 << 31, 1 << 31, false},
			{0x17000008, 1 << 31, 1 << 31, false},
			{0x130201b4, 1 << 31, 1 << 31, false},
			{0x17000014, 1 << 31, 1 << 31, false},
			{0x130201b0, 1 << 31, 1 << 31, false},
			{0x130201bc, 1 << 31, 1 << 31, false},
			{0x17000038, 0, 3, false},
			{0x1700003c, 3, 3, true},
		}},
		{"v1.3B gmac1", VF2v13BGMAC1, []step{
			{0x13030090, 1 << 2, 7 << 2, false},      // RGMII at sys_syscon 0x90, shift 2
			{0x130201a4, 1 << 24, 0x3f << 24, false}, // SYSCLK_GMAC1_TX (105) mux ← RMII_RTX
			{0x13020188, 1 << 31, 1 << 31, false},    // SYSCLK_GMAC1_AXI (98)
			{0x13020184, 1 << 31, 1 << 31, false},    // SYSCLK_GMAC1_AHB (97)
			{0x13020198, 1 << 31, 1 << 31, false},    // SYSCLK_GMAC1_PTP (102)
			{0x130201a4, 1 << 31, 1 << 31, false},    // SYSCLK_GMAC1_TX (105)
			{0x130201ac, 1 << 31, 1 << 31, false},    // SYSCLK_GMAC1_GTXC (107)
			{0x13020300, 0, 0xc, false},              // sys reset assert word 2, bits 2-3 (66, 67)
			{0x13020310, 0xc, 0xc, true},             // sys reset status word 2
		}},
		{"v1.2A gmac1 (RMII)", VF2v12AGMAC1, []step{
			{0x13030090, 4 << 2, 7 << 2, false},      // RMII = 4
			{0x130201a4, 1 << 24, 0x3f << 24, false}, // TX ← RMII_RTX
			{0x1302019c, 1 << 24, 0x3f << 24, false}, // SYSCLK_GMAC1_RX (103) ← RMII_RTX
			{0x13020188, 1 << 31, 1 << 31, false},
			{0x13020184, 1 << 31, 1 << 31, false},
			{0x13020198, 1 << 31, 1 << 31, false},
			{0x130201a4, 1 << 31, 1 << 31, false},
			{0x130201ac, 1 << 31, 1 << 31, false},
			{0x13020300, 0, 0xc, false},
			{0x13020310, 0xc, 0xc, true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := PowerUpSequence(tc.port)
			require.NoError(t, err)
			got := make([]step, len(steps))
			for i, s := range steps {
				got[i] = step{s.Addr, s.Value, s.Mask, s.Wait}
				require.NotEmpty(t, s.Why)
			}
			require.Equal(t, tc.want, got)
		})
	}
	_, err := PowerUpSequence(GMACPort{Index: 2})
	require.ErrorContains(t, err, "no GMAC2")
	_, err = PowerUpSequence(GMACPort{Interface: PHYInterface(9)})
	require.ErrorContains(t, err, "unsupported interface")
}

// TestGMACPlatformPowerUp runs the sequence on a register model: each
// write is a read-modify-write that keeps the other bits, and the reset
// wait ends once the status reads back.
func TestGMACPlatformPowerUp(t *testing.T) {
	m := mmiotest.New(false)
	m.Set(0x1701000c, 0xffffffff)   // other syscon bits set: must survive
	m.Set(0x17000014, 0x4000_0005)  // invert and divider bits: must survive
	m.Set(0x17000038, 0xfffffff3|3) // every line in reset
	polls := 0
	m.OnRead[0x1700003c] = func() uint64 {
		polls++
		if m.Get(0x17000038)&3 == 0 && polls > 2 {
			return 3
		}
		return 0
	}
	p := &GMACPlatform{Bus: m, Port: VF2v13BGMAC0}
	require.NoError(t, p.PowerUp())
	require.Equal(t, uint64(0xffe3ffff|1<<18), m.Get(0x1701000c))
	require.Equal(t, uint64(0xc100_0005), m.Get(0x17000014))
	require.Equal(t, uint64(0xfffffff0), m.Get(0x17000038))
	require.Equal(t, 3, polls)

	// A reset that never deasserts fails, bounded, naming the register.
	m2 := mmiotest.New(false)
	p2 := &GMACPlatform{Bus: m2, Port: VF2v13BGMAC1, Polls: 50}
	err := p2.PowerUp()
	require.ErrorContains(t, err, "0x13020310")
	n := 0
	for _, a := range m2.Log {
		if a.Addr == 0x13020310 {
			n++
		}
	}
	require.Equal(t, 50, n)
	require.ErrorIs(t, (&GMACPlatform{}).PowerUp(), ErrNoBus)
}

func TestTxClock(t *testing.T) {
	for _, tc := range []struct {
		speed int
		hz    uint32
	}{{1000, 125_000_000}, {100, 25_000_000}, {10, 2_500_000}} {
		hz, err := TxClockHz(tc.speed)
		require.NoError(t, err)
		require.Equal(t, tc.hz, hz)
	}
	_, err := TxClockHz(2500)
	require.Error(t, err)

	// Ports that take the RGMII clock need no writes at any speed.
	steps, err := TxClockSteps(VF2v13BGMAC0, 100)
	require.NoError(t, err)
	require.Empty(t, steps)

	// gmac0_gtxclk (syscrg 108 at 0x130201b0) divides pll0 by ≤ 15.
	port := VF2v12AGMAC0
	port.PLL0Hz = 1_000_000_000
	steps, err = TxClockSteps(port, 1000)
	require.NoError(t, err)
	require.Equal(t, []RegStep{{Addr: 0x130201b0, Value: 8, Mask: 0xffffff, Why: steps[0].Why}}, steps)
	_, err = TxClockSteps(port, 100) // 40 > 15
	require.ErrorContains(t, err, "not pll0")
	port.PLL0Hz = 0
	_, err = TxClockSteps(port, 1000)
	require.ErrorContains(t, err, "pll0 rate unknown")

	m := mmiotest.New(false)
	m.Set(0x130201b0, 1<<31|12)
	port.PLL0Hz = 1_500_000_000
	require.NoError(t, (&GMACPlatform{Bus: m, Port: port}).SetTxClock(1000))
	require.Equal(t, uint64(1<<31|12), m.Get(0x130201b0))
}
