package visionfive2

import (
	"fmt"
	"time"

	"github.com/exo-os/exo/board"
	"github.com/exo-os/exo/board/dma"
	"github.com/exo-os/exo/board/driver/dwmac"
	"github.com/exo-os/exo/board/driver/phy"
	"github.com/exo-os/exo/board/mmio"
	"github.com/exo-os/exo/board/starfive/jh7110"
)

// Revision is a VisionFive 2 board revision: which PHYs sit behind the
// MACs and how they are wired (shared/NETWORK.md §3.3).
type Revision int

// The revisions.
const (
	// V13B is the revision sold today: two YT8531 gigabit PHYs on RGMII.
	V13B Revision = iota
	// V12A is the early revision: a YT8531 on GMAC0, a YT8512B on
	// GMAC1's RMII port.
	V12A
)

func (r Revision) String() string {
	switch r {
	case V13B:
		return "v1.3B"
	case V12A:
		return "v1.2A"
	}
	return fmt.Sprintf("Revision(%d)", int(r))
}

// BoardRevision is the revision the firmware drives. There is no way to
// ask the board without an I2C driver for its EEPROM (U-Boot reads the
// product id "VF7110A"/"VF7110B" there): change this constant for a
// v1.2A board.
const BoardRevision = V13B

// MAC is the Ethernet address the firmware gives GMAC0: a fixed, locally
// administered unicast address (first byte 0x02; then "Exo" and "V2" in
// ASCII). The board's own addresses are in its I2C EEPROM, which Exo has
// no driver for, and the JH7110's unique id is in its OTP, which Exo does
// not read either. Two Exo boards on one segment therefore clash: give
// the second one another address here.
var MAC = [6]byte{0x02, 0x45, 0x78, 0x6f, 0x56, 0x32}

// LinkTimeout bounds the wait for autonegotiation at boot (U-Boot's
// genphy_update_link waits up to 5 s too, PHY_ANEG_TIMEOUT); a board
// without a cable then boots without its network.
const LinkTimeout = 5 * time.Second

// linkPollEvery is the pause between two reads of the PHY's link state.
const linkPollEvery = 50 * time.Millisecond

// phyAddr is the PHY's MDIO address on both MACs (the board trees'
// phy0: ethernet-phy@0, phy1: ethernet-phy@1 on the other bus, address 0
// per shared/NETWORK.md §3.1).
const phyAddr = 0

// NetPort is one MAC and its PHY as a revision wires them.
type NetPort struct {
	Name string
	Base uintptr
	IRQ  uint32
	Port jh7110.GMACPort
	PHY  phy.Options
}

// Port returns GMAC0 as rev wires it.
func Port(rev Revision) (NetPort, error) {
	switch rev {
	case V13B:
		return NetPort{Name: "gmac0", Base: jh7110.GMAC0Base, IRQ: jh7110.GMAC0IRQ, Port: jh7110.VF2v13BGMAC0, PHY: phy.VF2v13BPHY0}, nil
	case V12A:
		return NetPort{Name: "gmac0", Base: jh7110.GMAC0Base, IRQ: jh7110.GMAC0IRQ, Port: jh7110.VF2v12AGMAC0, PHY: phy.VF2v12APHY0}, nil
	}
	return NetPort{}, fmt.Errorf("visionfive2: unknown board revision %d", int(rev))
}

// NetConfig is what SetupNIC works with.
type NetConfig struct {
	Bus      mmio.Bus
	Alloc    *dma.Allocator
	Revision Revision
	MAC      [6]byte
	// Now reads a monotonic clock and Sleep waits; they pace and bound
	// the wait for the link.
	Now   func() time.Duration
	Sleep func(time.Duration)
	// Printf writes a console line.
	Printf func(format string, args ...any)
	// LinkTimeout bounds the wait for the link; zero means LinkTimeout.
	LinkTimeout time.Duration
	// Polls bounds each register wait; zero means the drivers' defaults.
	Polls int
}

// loggedPlatform reports on the console when the SoC's part of the
// bring-up (interface mode, clocks, resets) is done.
type loggedPlatform struct {
	p      *jh7110.GMACPlatform
	name   string
	printf func(string, ...any)
}

func (l loggedPlatform) PowerUp() error {
	if err := l.p.PowerUp(); err != nil {
		return err
	}
	l.printf("visionfive2: %s: interface mode %v, clocks enabled, resets released", l.name, l.p.Port.Interface)
	return nil
}

func (l loggedPlatform) SetTxClock(speedMbps int) error { return l.p.SetTxClock(speedMbps) }

// SetupNIC brings up GMAC0 for cfg.Revision, printing each step: the
// SoC's clocks and resets and the MAC's own reset and rings (dwmac.New
// through jh7110.GMACPlatform), the PHY's id and model (phy.Probe over the
// MAC's MDIO), its configuration and autonegotiation, and the link, which
// it waits for, bounded by LinkTimeout, before telling the MAC its speed
// and duplex (SetLink). It returns the NIC and its interrupt source, or an
// error saying why the board has no network: the caller boots without
// one. A MAC left set up without a NIC has its interrupt left unrouted.
func SetupNIC(cfg NetConfig) (*dwmac.GMAC, board.Device, error) {
	printf := cfg.Printf
	if printf == nil {
		printf = func(string, ...any) {}
	}
	np, err := Port(cfg.Revision)
	if err != nil {
		return nil, board.Device{}, err
	}
	printf("visionfive2: network: %s at %#x, board %v, MAC %s", np.Name, np.Base, cfg.Revision, macString(cfg.MAC))
	plat := loggedPlatform{p: &jh7110.GMACPlatform{Bus: cfg.Bus, Port: np.Port, Polls: cfg.Polls}, name: np.Name, printf: printf}
	g, err := dwmac.New(dwmac.Config{
		Bus: cfg.Bus, Base: np.Base, Alloc: cfg.Alloc, Platform: plat, MAC: cfg.MAC,
		Speed: 1000, FullDuplex: true, Polls: cfg.Polls,
	})
	if err != nil {
		return nil, board.Device{}, fmt.Errorf("visionfive2: %s: %w", np.Name, err)
	}
	printf("visionfive2: %s: DMA reset done, %d receive and %d transmit descriptors", np.Name, dwmac.RxRingSize, dwmac.TxRingSize)
	p, err := phy.Probe(g.MDIO(), phyAddr, np.PHY)
	if err != nil {
		return nil, board.Device{}, fmt.Errorf("visionfive2: %s: no usable PHY: %w", np.Name, err)
	}
	p.Polls = cfg.Polls
	printf("visionfive2: %s: PHY %v", np.Name, p)
	if err := p.Configure(); err != nil {
		return nil, board.Device{}, fmt.Errorf("visionfive2: %s: %w", np.Name, err)
	}
	printf("visionfive2: %s: PHY configured (rx delay %d ps, tx delay %d ps); autonegotiating", np.Name, np.PHY.RxDelayPs, np.PHY.TxDelayPs)
	l, err := waitLink(cfg, p)
	if err != nil {
		return nil, board.Device{}, fmt.Errorf("visionfive2: %s: %w", np.Name, err)
	}
	if err := g.SetLink(dwmac.Link{Up: true, Speed: l.Speed, FullDuplex: l.FullDuplex}); err != nil {
		return nil, board.Device{}, fmt.Errorf("visionfive2: %s: %w", np.Name, err)
	}
	printf("visionfive2: %s: %v", np.Name, l)
	return g, board.Device{Name: np.Name, IRQ: np.IRQ, Handle: g.Interrupt}, nil
}

// waitLink polls the PHY until it reports a link, for at most the
// configured timeout.
func waitLink(cfg NetConfig, p *phy.PHY) (phy.Link, error) {
	timeout := cfg.LinkTimeout
	if timeout <= 0 {
		timeout = LinkTimeout
	}
	if cfg.Now == nil || cfg.Sleep == nil {
		return phy.Link{}, fmt.Errorf("no clock to wait for the link with")
	}
	start := cfg.Now()
	for {
		l, err := p.Poll()
		if err != nil {
			return phy.Link{}, err
		}
		if l.Up {
			return l, nil
		}
		if cfg.Now()-start >= timeout {
			return phy.Link{}, fmt.Errorf("no link after %v (is a cable plugged into the port, with a live peer?)", timeout)
		}
		cfg.Sleep(linkPollEvery)
	}
}

func macString(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}
