package visionfive2

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/dma"
	"github.com/exo-os/exo/board/driver/phy"
	"github.com/exo-os/exo/board/mmio/mmiotest"
	"github.com/exo-os/exo/board/starfive/jh7110"
)

// Register facts the model needs, from board/driver/dwmac/FACTS.md and
// shared/NETWORK.md §3 (the driver's own constants are unexported).
const (
	gmac          = jh7110.GMAC0Base
	regDMAMode    = gmac + 0x1000 // bit 0 SWR
	regHWFeature1 = gmac + 0x120
	regMDIOAddr   = gmac + 0x200 // PA 25:21, RDA 20:16, GOC 3:2 (1 write, 3 read), GB bit 0
	regMDIOData   = gmac + 0x204
	regMACConfig  = gmac + 0x000 // PS bit 15, FES 14, DM 13
	regAddr0High  = gmac + 0x300
	regAddr0Low   = gmac + 0x304
	aonRstStatus  = jh7110.AONCRGBase + 0x3c
	gmac0ModeReg  = jh7110.AONSysconBase + 0xc
)

// phyModel is one PHY behind the MAC's MDIO master: clause 22 registers,
// the Motorcomm extended registers behind 0x1e/0x1f, and a link the test
// sets. With present false nothing answers (the bus reads all ones).
type phyModel struct {
	present bool
	regs    [32]uint16
	ext     map[uint16]uint16
	// upAfter is how many BMSR reads report no link before the link
	// comes up; -1: never.
	upAfter int
	speed   uint16 // Motorcomm specific status speed code: 0 10, 1 100, 2 1000
	full    bool
	reads   int
}

func (p *phyModel) read(reg int) uint16 {
	if !p.present {
		return 0xffff
	}
	switch reg {
	case 0x01: // BMSR: link (bit 2) and autonegotiation done (bit 5)
		p.reads++
		if p.upAfter >= 0 && p.reads > p.upAfter {
			return 0x7949 | 1<<2 | 1<<5
		}
		return 0x7949
	case 0x11:
		v := p.speed << 14
		if p.full {
			v |= 1 << 13
		}
		return v
	case 0x1f:
		return p.ext[p.regs[0x1e]]
	}
	return p.regs[reg]
}

func (p *phyModel) write(reg int, v uint16) {
	switch reg {
	case 0x00:
		v &^= 1 << 15 // the soft reset completes at once
	case 0x1f:
		p.ext[p.regs[0x1e]] = v
		return
	}
	p.regs[reg] = v
}

// fakeBoard is the SoC as SetupNIC sees it: the CRG, syscon and GMAC0
// registers (mmiotest), a DMA region in ordinary memory, and a clock that
// Sleep advances.
type fakeBoard struct {
	m     *mmiotest.Model
	phy   *phyModel
	alloc *dma.Allocator
	now   time.Duration
	lines []string
}

func newFakeBoard(t *testing.T, id uint32) *fakeBoard {
	f := &fakeBoard{m: mmiotest.New(false), phy: &phyModel{present: true, ext: map[uint16]uint16{0xa001: 2 << 4}, speed: 2, full: true}}
	f.phy.regs[2], f.phy.regs[3] = uint16(id>>16), uint16(id)
	m := f.m
	m.Set(aonRstStatus, 3) // GMAC0 AXI and AHB out of reset once deasserted
	m.Set(regHWFeature1, 4<<6|4)
	m.OnRead[regDMAMode] = func() uint64 { // SWR clears at once
		v := m.Get(regDMAMode) &^ 1
		m.Set(regDMAMode, v)
		return v
	}
	m.OnWrite[regMDIOAddr] = func(v uint64) {
		if v&1 == 0 {
			return
		}
		if v>>21&31 != phyAddr {
			t.Errorf("MDIO access to PHY %d", v>>21&31)
		}
		reg := int(v >> 16 & 31)
		switch v >> 2 & 3 {
		case 3:
			m.Set(regMDIOData, uint64(f.phy.read(reg)))
		case 1:
			f.phy.write(reg, uint16(m.Get(regMDIOData)))
		}
		m.Set(regMDIOAddr, v&^1)
	}
	// 1 MiB of DMA memory, page aligned as dma.New requires of a view
	// whose physical addresses start on a page.
	buf := make([]byte, 1<<20+dma.MaxAlign)
	off := (dma.MaxAlign - int(uintptr(unsafe.Pointer(&buf[0]))%dma.MaxAlign)) % dma.MaxAlign
	const pa = 0x44000000
	a, err := dma.New(pa, pa+1<<20, buf[off:off+1<<20])
	require.NoError(t, err)
	f.alloc = a
	return f
}

func (f *fakeBoard) config(rev Revision) NetConfig {
	return NetConfig{
		Bus: f.m, Alloc: f.alloc, Revision: rev, MAC: MAC,
		Now:    func() time.Duration { return f.now },
		Sleep:  func(d time.Duration) { f.now += d },
		Printf: func(format string, a ...any) { f.lines = append(f.lines, fmt.Sprintf(format, a...)) },
		Polls:  100,
	}
}

func (f *fakeBoard) console() string { return strings.Join(f.lines, "\n") }

func TestSetupNIC(t *testing.T) {
	for _, tc := range []struct {
		name    string
		id      uint32
		present bool
		upAfter int
		speed   uint16
		full    bool
		rev     Revision
		// want are console lines (substrings, in order); err the error
		// (empty: a NIC comes back).
		want []string
		err  string
		// macConfig is MAC_Configuration's PS|FES|DM after a link.
		macConfig uint32
	}{
		{
			name: "link at 1000 full", id: phy.IDYT8531, present: true, upAfter: 3, speed: 2, full: true,
			want: []string{
				"network: gmac0 at 0x16030000, board v1.3B, MAC 02:45:78:6f:56:32",
				"gmac0: interface mode RGMII, clocks enabled, resets released",
				"gmac0: DMA reset done, 64 receive and 32 transmit descriptors",
				"gmac0: PHY Motorcomm YT8531 (id 0x4f51e91b) at MDIO address 0",
				"gmac0: PHY configured (rx delay 1500 ps, tx delay 1500 ps); autonegotiating",
				"gmac0: link up 1000 Mbit/s full duplex",
			},
			macConfig: 1 << 13,
		},
		{
			name: "link at 100 half", id: phy.IDYT8531, present: true, upAfter: 0, speed: 1, full: false,
			want:      []string{"gmac0: link up 100 Mbit/s half duplex"},
			macConfig: 1<<15 | 1<<14,
		},
		{
			name: "no PHY", present: false,
			want: []string{"gmac0: DMA reset done"},
			err:  "gmac0: no usable PHY: phy 0: nothing answers (id registers read 0xffffffff)",
		},
		{
			name: "unknown PHY", id: 0x001cc916, present: true,
			want: []string{"gmac0: DMA reset done"},
			err:  "unknown PHY id 0x001cc916",
		},
		{
			name: "no cable", id: phy.IDYT8531, present: true, upAfter: -1,
			want: []string{"gmac0: PHY configured"},
			err:  "gmac0: no link after 5s (is a cable plugged into the port",
		},
		{
			// The v1.2A's gigabit port sets its transmit clock from
			// pll0, whose rate the board does not know yet.
			name: "v1.2A", id: phy.IDYT8531, present: true, rev: V12A,
			want: []string{"board v1.2A", "interface mode RGMII"},
			err:  "pll0 rate unknown",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeBoard(t, tc.id)
			f.phy.present, f.phy.upAfter, f.phy.speed, f.phy.full = tc.present, tc.upAfter, tc.speed, tc.full
			g, dev, err := SetupNIC(f.config(tc.rev))
			out := f.console()
			rest := out
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				require.GreaterOrEqual(t, i, 0, "console lacks %q (in order):\n%s", w, out)
				rest = rest[i+len(w):]
			}
			for _, l := range f.lines {
				require.True(t, strings.HasPrefix(l, "visionfive2: "), "console line %q", l)
			}
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.Nil(t, g, "no NIC when bring-up fails")
				require.NotContains(t, out, "link up")
				return
			}
			require.NoError(t, err)
			require.NotNil(t, g)
			require.Equal(t, MAC, g.MAC())
			require.Equal(t, uint32(jh7110.GMAC0IRQ), dev.IRQ)
			require.Equal(t, "gmac0", dev.Name)
			require.NotNil(t, dev.Handle)
			require.True(t, g.Link().Up)
			// The MAC's address registers: bytes 5, 4 in HIGH's low
			// half, 3..0 in LOW (U-Boot eqos_write_hwaddr).
			require.Equal(t, uint64(0x3256), f.m.Get(regAddr0High)&0xffff)
			require.Equal(t, uint64(0x6f784502), f.m.Get(regAddr0Low))
			require.Equal(t, tc.macConfig, uint32(f.m.Get(regMACConfig))&(1<<15|1<<14|1<<13))
			// aon_syscon 0xc bits 20:18 = 1: RGMII.
			require.Equal(t, uint64(1), f.m.Get(gmac0ModeReg)>>18&7)
			require.Empty(t, f.m.Errors)
		})
	}
}

// A board whose GMAC clocks or resets do not come up boots without
// network, and the error names the step.
func TestSetupNICResetStuck(t *testing.T) {
	f := newFakeBoard(t, phy.IDYT8531)
	f.m.Set(aonRstStatus, 0)
	g, _, err := SetupNIC(f.config(V13B))
	require.Nil(t, g)
	require.ErrorContains(t, err, "aoncrg reset status gmac0 axi, ahb")
	require.NotContains(t, f.console(), "resets released")
}

// The wait for the link is bounded by the clock, not by a count, and
// polls at a steady pace.
func TestWaitLinkIsBounded(t *testing.T) {
	f := newFakeBoard(t, phy.IDYT8531)
	f.phy.upAfter = -1
	cfg := f.config(V13B)
	cfg.LinkTimeout = time.Second
	_, _, err := SetupNIC(cfg)
	require.ErrorContains(t, err, "no link after 1s")
	require.Equal(t, time.Second, f.now)
	// Each poll reads BMSR twice while the link is down (it latches low).
	require.Equal(t, 2*(int(time.Second/linkPollEvery)+1), f.phy.reads)
	_, err = Port(Revision(7))
	require.ErrorContains(t, err, "unknown board revision 7")
	require.Equal(t, "Revision(7)", Revision(7).String())
}
