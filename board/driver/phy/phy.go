// Package phy identifies and drives the Ethernet PHYs of the VisionFive 2
// over MDIO (IEEE 802.3 clause 22): the Motorcomm YT8531 (gigabit, RGMII;
// both ports of the v1.3B, the gigabit port of the v1.2A) and the Motorcomm
// YT8512B (100 Mbit, RMII; the v1.2A's second port). A PHY it does not know
// is refused with an error naming the id it read.
//
// Link state is reported as a value (Link) with a String for the console.
// Nothing here has run on a board; the register facts are from U-Boot's
// drivers/net/phy/motorcomm.c, Motorcomm's vendor driver and IEEE 802.3
// clause 22 (board/driver/dwmac/FACTS.md).
package phy

import (
	"fmt"
)

// Bus is an MDIO master (dwmac.MDIO is one).
type Bus interface {
	Read(addr, reg int) (uint16, error)
	Write(addr, reg int, v uint16) error
}

// Clause 22 registers and bits (IEEE 802.3 §22.2.4).
const (
	regBMCR     = 0x00
	regBMSR     = 0x01
	regID1      = 0x02
	regID2      = 0x03
	regANAR     = 0x04
	regGBCR     = 0x09 // 1000BASE-T control (§40.5.1.1)
	bmcrReset   = 1 << 15
	bmcrANEN    = 1 << 12
	bmcrRestart = 1 << 9
	bmsrLink    = 1 << 2
	bmsrANDone  = 1 << 5
	// ANAR: selector 1 (802.3), 10/100 half and full (bits 5-8).
	anar10_100 = 0x01e1
	// GBCR: advertise 1000BASE-T full and half (bits 9, 8).
	gbcr1000 = 0x0300
)

// Motorcomm registers (U-Boot motorcomm.c; the vendor driver for YT8512).
const (
	regExtAddr     = 0x1e // YTPHY_PAGE_SELECT: extended register address
	regExtData     = 0x1f // YTPHY_PAGE_DATA
	regSpecStatus  = 0x11 // YTPHY_SPECIFIC_STATUS_REG
	specSpeedShift = 14   // 2 bits: 0 = 10, 1 = 100, 2 = 1000
	specDuplex     = 1 << 13

	extChipConfig    = 0xa001 // YT8531_CHIP_CONFIG_REG
	ccrRXCDelayEn    = 1 << 8 // +1.9 ns on RXC
	ccrLDOShift      = 4      // bits 5:4: 0 = 3.3 V, 2 = 1.8 V
	extRGMIIConfig1  = 0xa003 // YT8531_RGMII_CONFIG1_REG
	rc1TxClkInvert   = 1 << 14
	rc1RxDelayShift  = 10 // bits 13:10
	rc1GETxDelayMask = 0xf
	rc1RxDelayMask   = 0xf << rc1RxDelayShift
	extPadDrive      = 0xa010 // YT8531_PAD_DRIVE_STRENGTH_CFG_REG
	padRXCShift      = 13     // bits 15:13
	padRXDHi         = 1 << 12
	padRXDLoShift    = 4      // bits 5:4
	extSyncE         = 0xa012 // YTPHY_SYNCE_CFG_REG
	synceEnable      = 1 << 6

	yt8512Sleep1  = 0x2027 // YT8512_EXTREG_SLEEP_CONTROL1 (vendor driver)
	yt8512SleepSW = 1 << 15
)

// PHY ids (register 2 << 16 | register 3).
const (
	// IDYT8531 is PHY_ID_YT8531 in U-Boot motorcomm.c (mask all 32 bits).
	IDYT8531 = 0x4f51e91b
	// IDYT8512B is PHY_ID_YT8512B in Motorcomm's vendor driver (id
	// registers 0x0000, 0x0128).
	IDYT8512B = 0x00000128
)

// Model is a PHY this package drives.
type Model int

// The models.
const (
	YT8531 Model = iota + 1
	YT8512B
)

func (m Model) String() string {
	switch m {
	case YT8531:
		return "Motorcomm YT8531"
	case YT8512B:
		return "Motorcomm YT8512B"
	}
	return fmt.Sprintf("Model(%d)", int(m))
}

// Interface is the MAC-PHY wiring, with the RGMII delay variants as the
// device tree's phy-mode names them.
type Interface int

// The interfaces.
const (
	RGMII     Interface = iota // no PHY delays
	RGMIIID                    // receive and transmit delays in the PHY
	RGMIIRXID                  // receive delay only
	RGMIITXID                  // transmit delay only
	RMII
)

// Options are a PHY node's properties in the board's device tree.
type Options struct {
	Interface Interface
	// RxDelayPs and TxDelayPs are rx-internal-delay-ps and
	// tx-internal-delay-ps (YT8531; U-Boot's default when absent is 1950).
	RxDelayPs, TxDelayPs int
	// TxClkAdj is motorcomm,tx-clk-adj-enabled: after link-up the
	// transmit clock is inverted at the speeds whose TxClkInvert* is set
	// (motorcomm,tx-clk-{10,100,1000}-inverted).
	TxClkAdj                                       bool
	TxClkInvert10, TxClkInvert100, TxClkInvert1000 bool
	// RxClkDriveUA and RxDataDriveUA are motorcomm,rx-clk-drv-microamp
	// and motorcomm,rx-data-drv-microamp; zero leaves U-Boot's default
	// drive strength code 3.
	RxClkDriveUA, RxDataDriveUA int
}

// YT8531 options of the VisionFive 2 revisions (Linux
// jh7110-starfive-visionfive-2-v1.3b.dts; v1.2A delays from U-Boot's
// upstream dts as shared/NETWORK.md §3.3 records them).
var (
	VF2v13BPHY0 = Options{Interface: RGMIIID, RxDelayPs: 1500, TxDelayPs: 1500, TxClkAdj: true,
		TxClkInvert100: true, TxClkInvert1000: true, RxClkDriveUA: 3970, RxDataDriveUA: 2910}
	VF2v13BPHY1 = Options{Interface: RGMIIID, RxDelayPs: 300, TxDelayPs: 0, TxClkAdj: true,
		TxClkInvert100: true, RxClkDriveUA: 3970, RxDataDriveUA: 2910}
	VF2v12APHY0 = Options{Interface: RGMIIID, RxDelayPs: 1900, TxDelayPs: 1350}
	VF2v12APHY1 = Options{Interface: RMII}
)

// DefaultPolls bounds the wait for the PHY's soft reset.
const DefaultPolls = 10_000

// Link is the link a PHY reports.
type Link struct {
	Up         bool
	Speed      int // Mbit/s: 10, 100, 1000
	FullDuplex bool
}

func (l Link) String() string {
	if !l.Up {
		return "link down"
	}
	d := "half"
	if l.FullDuplex {
		d = "full"
	}
	return fmt.Sprintf("link up %d Mbit/s %s duplex", l.Speed, d)
}

// PHY is an identified PHY at one MDIO address.
type PHY struct {
	bus   Bus
	addr  int
	id    uint32
	model Model
	opts  Options
	// Polls bounds waits; zero means DefaultPolls.
	Polls int
	// appliedFor is the speed whose transmit-clock setting was last
	// applied (0: none yet).
	appliedFor int
}

// ReadID returns the id registers of the PHY at addr as one word.
func ReadID(bus Bus, addr int) (uint32, error) {
	hi, err := bus.Read(addr, regID1)
	if err != nil {
		return 0, fmt.Errorf("phy %d: reading id: %w", addr, err)
	}
	lo, err := bus.Read(addr, regID2)
	if err != nil {
		return 0, fmt.Errorf("phy %d: reading id: %w", addr, err)
	}
	return uint32(hi)<<16 | uint32(lo), nil
}

// Probe identifies the PHY at addr by its id registers and returns it, or
// an error naming the id found if it is none this package drives (or if
// nothing answers: an id of all zeros or all ones).
func Probe(bus Bus, addr int, opts Options) (*PHY, error) {
	id, err := ReadID(bus, addr)
	if err != nil {
		return nil, err
	}
	p := &PHY{bus: bus, addr: addr, id: id, opts: opts}
	switch id {
	case IDYT8531:
		p.model = YT8531
		if opts.Interface == RMII {
			return nil, fmt.Errorf("phy %d: %v is an RGMII PHY, the board says RMII", addr, p.model)
		}
	case IDYT8512B:
		p.model = YT8512B
	case 0, 0xffffffff:
		return nil, fmt.Errorf("phy %d: nothing answers (id registers read %#08x)", addr, id)
	default:
		return nil, fmt.Errorf("phy %d: unknown PHY id %#08x (known: YT8531 %#08x, YT8512B %#08x)", addr, id, IDYT8531, IDYT8512B)
	}
	return p, nil
}

// ID returns the PHY's id; Model its model; Addr its MDIO address.
func (p *PHY) ID() uint32   { return p.id }
func (p *PHY) Model() Model { return p.model }
func (p *PHY) Addr() int    { return p.addr }

func (p *PHY) String() string {
	return fmt.Sprintf("%v (id %#08x) at MDIO address %d", p.model, p.id, p.addr)
}

func (p *PHY) polls() int {
	if p.Polls > 0 {
		return p.Polls
	}
	return DefaultPolls
}

func (p *PHY) read(reg int) (uint16, error) {
	v, err := p.bus.Read(p.addr, reg)
	if err != nil {
		return 0, fmt.Errorf("phy %d: %w", p.addr, err)
	}
	return v, nil
}

func (p *PHY) write(reg int, v uint16) error {
	if err := p.bus.Write(p.addr, reg, v); err != nil {
		return fmt.Errorf("phy %d: %w", p.addr, err)
	}
	return nil
}

// modifyExt sets the bits of mask in extended register reg to val.
func (p *PHY) modifyExt(reg, mask, val uint16) error {
	if err := p.write(regExtAddr, reg); err != nil {
		return err
	}
	v, err := p.read(regExtData)
	if err != nil {
		return err
	}
	return p.write(regExtData, v&^mask|val&mask)
}

func (p *PHY) readExt(reg uint16) (uint16, error) {
	if err := p.write(regExtAddr, reg); err != nil {
		return 0, err
	}
	return p.read(regExtData)
}

// DelayCode maps an RGMII internal delay in picoseconds to the YT8531's
// 4-bit delay code, as U-Boot's ytphy_get_delay_reg_value does: 0 to 2250
// in steps of 150 (code = ps/150) without the RXC delay; for the receive
// side only, 1900 to 4150 in steps of 150 with the 1.9 ns RXC delay
// (0xA001 bit 8) on. Exact multiples of 150 take the first form. Other
// values are refused (U-Boot warns and uses 1950).
func DelayCode(ps int, rx bool) (code uint16, rxcDelay bool, err error) {
	if ps >= 0 && ps <= 2250 && ps%150 == 0 {
		return uint16(ps / 150), false, nil
	}
	if rx && ps >= 1900 && ps-1900 <= 2250 && (ps-1900)%150 == 0 {
		return uint16((ps - 1900) / 150), true, nil
	}
	return 0, false, fmt.Errorf("phy: RGMII delay of %d ps is not a YT8531 setting", ps)
}

// driveCode maps a drive current to the YT8531's 3-bit drive strength
// for the pad supply the PHY reports (U-Boot yt8531_ldo_vol: the LDO
// field of 0xA001, 0 = 3.3 V, 2 = 1.8 V).
func driveCode(ua int, ldo uint16) (uint16, error) {
	v18 := [8]int{1200, 2100, 2700, 2910, 3110, 3600, 3970, 4350}
	v33 := [8]int{3070, 4080, 4370, 4680, 5020, 5450, 5740, 6140}
	t := v33
	if ldo == 2 {
		t = v18
	} else if ldo != 0 {
		return 0, fmt.Errorf("phy: pad supply code %d is neither 3.3 V nor 1.8 V", ldo)
	}
	for i, c := range t {
		if c == ua {
			return uint16(i), nil
		}
	}
	return 0, fmt.Errorf("phy: drive current %d µA is not a YT8531 setting at this pad supply", ua)
}

// Configure resets the PHY (BMCR reset, bounded wait), sets it up for the
// board's wiring and starts autonegotiation, advertising what the model
// can do: the YT8531 10/100/1000, the YT8512B 10/100.
func (p *PHY) Configure() error {
	if err := p.write(regBMCR, bmcrReset); err != nil {
		return err
	}
	ok := false
	var v uint16
	var err error
	for i := 0; i < p.polls(); i++ {
		if v, err = p.read(regBMCR); err != nil {
			return err
		}
		if v&bmcrReset == 0 {
			ok = true
			break
		}
	}
	if !ok {
		return fmt.Errorf("phy %d: %v did not leave reset (BMCR %#04x after %d polls)", p.addr, p.model, v, p.polls())
	}
	p.appliedFor = 0
	switch p.model {
	case YT8531:
		err = p.configureYT8531()
	case YT8512B:
		// Keep the PHY awake with no cable (vendor driver
		// yt8512_config_init: auto sleep off).
		err = p.modifyExt(yt8512Sleep1, yt8512SleepSW, 0)
	}
	if err != nil {
		return err
	}
	// Autonegotiation (U-Boot genphy_config_aneg).
	if err := p.write(regANAR, anar10_100); err != nil {
		return err
	}
	if p.model == YT8531 {
		if err := p.write(regGBCR, gbcr1000); err != nil {
			return err
		}
	}
	return p.write(regBMCR, bmcrANEN|bmcrRestart)
}

// configureYT8531 is U-Boot's yt8531_config: no clock output, the RGMII
// delays, and the receive pads' drive strength.
func (p *PHY) configureYT8531() error {
	o := p.opts
	if err := p.modifyExt(extSyncE, synceEnable, 0); err != nil {
		return err
	}
	rx, rxc, err := DelayCode(o.RxDelayPs, true)
	if err != nil {
		return fmt.Errorf("phy %d: rx-internal-delay-ps: %w", p.addr, err)
	}
	tx, _, err := DelayCode(o.TxDelayPs, false)
	if err != nil {
		return fmt.Errorf("phy %d: tx-internal-delay-ps: %w", p.addr, err)
	}
	var val uint16
	switch o.Interface {
	case RGMII:
		rxc = false
	case RGMIIRXID:
		val = rx << rc1RxDelayShift
	case RGMIITXID:
		rxc = false
		val = tx
	case RGMIIID:
		val = rx<<rc1RxDelayShift | tx
	default:
		return fmt.Errorf("phy %d: %v does not support interface %d", p.addr, p.model, o.Interface)
	}
	var ccr uint16
	if rxc {
		ccr = ccrRXCDelayEn
	}
	if err := p.modifyExt(extChipConfig, ccrRXCDelayEn, ccr); err != nil {
		return err
	}
	if err := p.modifyExt(extRGMIIConfig1, rc1RxDelayMask|rc1GETxDelayMask, val); err != nil {
		return err
	}
	// Drive strength (yt8531_set_ds).
	chip, err := p.readExt(extChipConfig)
	if err != nil {
		return err
	}
	ldo := chip >> ccrLDOShift & 3
	if ldo > 2 {
		ldo = 2
	}
	clk, data := uint16(3), uint16(3)
	if o.RxClkDriveUA != 0 {
		if clk, err = driveCode(o.RxClkDriveUA, ldo); err != nil {
			return fmt.Errorf("phy %d: rx clock %w", p.addr, err)
		}
	}
	if o.RxDataDriveUA != 0 {
		if data, err = driveCode(o.RxDataDriveUA, ldo); err != nil {
			return fmt.Errorf("phy %d: rx data %w", p.addr, err)
		}
	}
	if err := p.modifyExt(extPadDrive, 7<<padRXCShift, clk<<padRXCShift); err != nil {
		return err
	}
	lo, hi := data&3, data>>2&1
	return p.modifyExt(extPadDrive, 3<<padRXDLoShift|padRXDHi, lo<<padRXDLoShift|hi*padRXDHi)
}

// Poll reads the link state: down unless BMSR says link and
// autonegotiation complete; speed and duplex from the Motorcomm specific
// status register (0x11). On a YT8531 with TxClkAdj the transmit clock
// inversion for the new speed is applied when the speed changes (U-Boot
// yt8531_startup).
func (p *PHY) Poll() (Link, error) {
	// BMSR's link bit latches low: a second read gives the present
	// state (U-Boot genphy_update_link reads it again when down).
	s, err := p.read(regBMSR)
	if err != nil {
		return Link{}, err
	}
	if s&bmsrLink == 0 {
		if s, err = p.read(regBMSR); err != nil {
			return Link{}, err
		}
	}
	if s&bmsrLink == 0 || s&bmsrANDone == 0 {
		return Link{}, nil
	}
	ss, err := p.read(regSpecStatus)
	if err != nil {
		return Link{}, err
	}
	l := Link{Up: true, FullDuplex: ss&specDuplex != 0}
	switch ss >> specSpeedShift & 3 {
	case 0:
		l.Speed = 10
	case 1:
		l.Speed = 100
	case 2:
		if p.model == YT8512B {
			return Link{}, fmt.Errorf("phy %d: %v reports 1000 Mbit/s, which it cannot do (status %#04x)", p.addr, p.model, ss)
		}
		l.Speed = 1000
	default:
		return Link{}, fmt.Errorf("phy %d: %v reports a reserved speed (status %#04x)", p.addr, p.model, ss)
	}
	if p.model == YT8531 && p.opts.TxClkAdj && p.appliedFor != l.Speed {
		inv := p.opts.TxClkInvert10
		switch l.Speed {
		case 100:
			inv = p.opts.TxClkInvert100
		case 1000:
			inv = p.opts.TxClkInvert1000
		}
		var v uint16
		if inv {
			v = rc1TxClkInvert
		}
		if err := p.modifyExt(extRGMIIConfig1, rc1TxClkInvert, v); err != nil {
			return Link{}, err
		}
		p.appliedFor = l.Speed
	}
	return l, nil
}
