package jh7110

import (
	"errors"
	"fmt"

	"github.com/exo-os/exo/board/mmio"
)

// The JH7110's two Ethernet MACs (Synopsys DWMAC 5.20, "snps,dwmac-5.20")
// and what the SoC around them needs before the MAC's own registers answer:
// clock gates, clock muxes, resets and the interface-mode field in a syscon
// register. Nothing here has run on a JH7110 yet; every value is taken from
// the sources named beside it, and board/driver/dwmac/FACTS.md lists them.
//
// Device addresses (Linux arch/riscv/boot/dts/starfive/jh7110.dtsi).
const (
	// GMAC0Base is ethernet@16030000 (IRQ 7 "macirq").
	GMAC0Base = 0x16030000
	// GMAC1Base is ethernet@16040000 (IRQ 78 "macirq").
	GMAC1Base = 0x16040000
	// SYSCRGBase is the system clock and reset generator
	// (clock-controller@13020000, starfive,jh7110-syscrg).
	SYSCRGBase = 0x13020000
	// SYSSysconBase is sys_syscon (syscon@13030000).
	SYSSysconBase = 0x13030000
	// AONCRGBase is the always-on clock and reset generator
	// (clock-controller@17000000, starfive,jh7110-aoncrg).
	AONCRGBase = 0x17000000
	// AONSysconBase is aon_syscon (syscon@17010000).
	AONSysconBase = 0x17010000
)

// GMAC interrupt sources ("macirq" in jh7110.dtsi). The wake and LPI
// interrupts (6, 5 and 77, 76) are not used.
const (
	GMAC0IRQ = 7
	GMAC1IRQ = 78
)

// CRG clock register layout: one 32-bit register per clock at 4·id; bit 31
// enables a gate, bit 30 inverts, bits 29:24 select a mux input, bits 23:0
// divide (Linux drivers/clk/starfive/clk-starfive-jh71x0.h JH71X0_CLK_*).
const (
	crgClkEnable   = 1 << 31
	crgClkMuxMask  = 0x3f << 24
	crgClkMuxShift = 24
	crgClkDivMask  = 0xffffff
)

// Clock ids (Linux include/dt-bindings/clock/starfive,jh7110-crg.h).
const (
	aonclkGMAC0AHB    = 2
	aonclkGMAC0AXI    = 3
	aonclkGMAC0TX     = 5 // gate + mux: 0 = gmac0_gtxclk, 1 = gmac0_rmii_rtx
	sysclkGMAC1AHB    = 97
	sysclkGMAC1AXI    = 98
	sysclkGMAC1GTXCLK = 100 // divider of pll0_out, no gate, at most 15
	sysclkGMAC1PTP    = 102
	sysclkGMAC1RX     = 103 // mux: 0 = gmac1_rgmii_rxin, 1 = gmac1_rmii_rtx
	sysclkGMAC1TX     = 105 // gate + mux: 0 = gmac1_gtxclk, 1 = gmac1_rmii_rtx
	sysclkGMAC1GTXC   = 107
	sysclkGMAC0GTXCLK = 108 // gate + divider of pll0_out, at most 15
	sysclkGMAC0PTP    = 109
	sysclkGMAC0GTXC   = 111
)

// Reset registers (Linux drivers/reset/starfive/reset-starfive-jh7110.c:
// aon assert 0x38 / status 0x3c, sys assert 0x2f8 / status 0x308, one word
// per 32 lines) and lines (include/dt-bindings/reset/starfive,jh7110-crg.h:
// JH7110_AONRST_GMAC0_AXI 0, _AHB 1; JH7110_SYSRST_GMAC1_AXI 66, _AHB 67).
// A set assert bit holds the line in reset; the status bit reads 1 once
// the line is out of reset (reset-starfive-jh71x0.c).
const (
	aonRstAssert   = AONCRGBase + 0x38
	aonRstStatus   = AONCRGBase + 0x3c
	sysRstAssert   = SYSCRGBase + 0x2f8 + 4*(66/32)
	sysRstStatus   = SYSCRGBase + 0x308 + 4*(66/32)
	rstGMAC0AXIBit = 1 << 0
	rstGMAC0AHBBit = 1 << 1
	rstGMAC1AXIBit = 1 << (66 % 32)
	rstGMAC1AHBBit = 1 << (67 % 32)
)

// Interface-mode field: 3 bits at the offset and shift of the MAC's
// "starfive,syscon" property (jh7110.dtsi: gmac0 <&aon_syscon 0xc 0x12>,
// gmac1 <&sys_syscon 0x90 0x2>); values from Linux dwmac-starfive.c and
// U-Boot dwc_eth_qos_starfive.c (STARFIVE_DWMAC_PHY_INFT_*).
const (
	gmac0ModeReg   = AONSysconBase + 0xc
	gmac0ModeShift = 0x12
	gmac1ModeReg   = SYSSysconBase + 0x90
	gmac1ModeShift = 0x2
	modeField      = 0x7
	modeRGMII      = 0x1
	modeRMII       = 0x4
)

// PHYInterface is how a MAC is wired to its PHY.
type PHYInterface int

// The interfaces the VisionFive 2 uses.
const (
	// RGMII covers "rgmii" and "rgmii-id" (the delays are the PHY's
	// business; the syscon value is the same).
	RGMII PHYInterface = iota
	// RMII is the v1.2A's 100 Mbit port (gmac1).
	RMII
)

func (i PHYInterface) String() string {
	switch i {
	case RGMII:
		return "RGMII"
	case RMII:
		return "RMII"
	}
	return fmt.Sprintf("PHYInterface(%d)", int(i))
}

// RegStep is one step of a bring-up sequence: a read-modify-write of the
// bits in Mask to Value at Addr, or, with Wait, a poll of Addr until the
// bits in Mask read as Value.
type RegStep struct {
	Addr  uintptr
	Value uint32
	Mask  uint32
	Wait  bool
	// Why names the step and its source, for error messages and the
	// bring-up log.
	Why string
}

// GMACPort describes one MAC as a board revision wires it.
type GMACPort struct {
	// Index is 0 (GMAC0, always-on domain) or 1 (GMAC1, system domain).
	Index int
	// Interface is the MAC-PHY wiring.
	Interface PHYInterface
	// TxFromRMIIRTX selects gmac*_rmii_rtx as the parent of the
	// transmit clock (the v1.3B trees' assigned-clock-parents, and the
	// v1.2A's RMII port) instead of gmac*_gtxclk.
	TxFromRMIIRTX bool
	// TxUseRGMIIClock is "starfive,tx-use-rgmii-clk": the transmit
	// clock's rate is not set per link speed (v1.3B, both ports).
	TxUseRGMIIClock bool
	// PLL0Hz is pll0_out, the parent of gmac*_gtxclk; it matters only
	// when TxUseRGMIIClock is false.
	PLL0Hz uint32
}

// Ports of the two board revisions (Linux
// jh7110-starfive-visionfive-2-v1.3b.dts; U-Boot
// dts/upstream/src/riscv/starfive/jh7110-starfive-visionfive-2-v1.2a.dts
// as recorded in shared/NETWORK.md §3.3, not re-read here).
var (
	// VF2v13BGMAC0 and VF2v13BGMAC1 are the v1.3B's two YT8531 ports.
	VF2v13BGMAC0 = GMACPort{Index: 0, Interface: RGMII, TxFromRMIIRTX: true, TxUseRGMIIClock: true}
	VF2v13BGMAC1 = GMACPort{Index: 1, Interface: RGMII, TxFromRMIIRTX: true, TxUseRGMIIClock: true}
	// VF2v12AGMAC0 is the v1.2A's gigabit port (YT8531, rgmii-id); its
	// transmit clock follows the link speed.
	VF2v12AGMAC0 = GMACPort{Index: 0, Interface: RGMII}
	// VF2v12AGMAC1 is the v1.2A's 100 Mbit port (YT8512B, RMII, transmit
	// and receive clocks from gmac1_rmii_rtx).
	VF2v12AGMAC1 = GMACPort{Index: 1, Interface: RMII, TxFromRMIIRTX: true, TxUseRGMIIClock: true}
)

func clkReg(crg uintptr, id int) uintptr { return crg + 4*uintptr(id) }

func enable(crg uintptr, id int, why string) RegStep {
	return RegStep{Addr: clkReg(crg, id), Value: crgClkEnable, Mask: crgClkEnable, Why: why}
}

func mux(crg uintptr, id int, input uint32, why string) RegStep {
	return RegStep{Addr: clkReg(crg, id), Value: input << crgClkMuxShift, Mask: crgClkMuxMask, Why: why}
}

// PowerUpSequence returns the register steps that take port's MAC from
// power-on to answering its registers, in the order Linux and U-Boot use:
// the interface mode first (U-Boot eqos_probe_resources_jh7110 →
// eqos_interface_init_jh7110; Linux starfive_dwmac_probe → set_mode, both
// before the resets are released), then the transmit clock's parent
// (assigned-clock-parents, applied when the device is probed), then the
// clock gates of the tree's clocks (U-Boot clk_enable_bulk, Linux
// devm_clk_get_enabled / stmmac_probe_config_dt; enabling a clock enables
// the gates among its parents), then the resets (U-Boot
// eqos_start_resets_jh7110 → reset_deassert_bulk).
func PowerUpSequence(port GMACPort) ([]RegStep, error) {
	var mode uint32
	switch port.Interface {
	case RGMII:
		mode = modeRGMII
	case RMII:
		mode = modeRMII
	default:
		return nil, fmt.Errorf("jh7110 gmac%d: unsupported interface %v", port.Index, port.Interface)
	}
	var txParent uint32
	if port.TxFromRMIIRTX {
		txParent = 1
	}
	switch port.Index {
	case 0:
		return []RegStep{
			{Addr: gmac0ModeReg, Value: mode << gmac0ModeShift, Mask: modeField << gmac0ModeShift,
				Why: "aon_syscon 0xc bits 20:18: interface mode (starfive,syscon = <&aon_syscon 0xc 0x12>)"},
			mux(AONCRGBase, aonclkGMAC0TX, txParent, "aoncrg gmac0_tx parent (assigned-clock-parents)"),
			enable(AONCRGBase, aonclkGMAC0AXI, "aoncrg gmac0_axi gate (clock stmmaceth)"),
			enable(AONCRGBase, aonclkGMAC0AHB, "aoncrg gmac0_ahb gate (clock pclk)"),
			enable(SYSCRGBase, sysclkGMAC0PTP, "syscrg gmac0_ptp gate (clock ptp_ref)"),
			enable(AONCRGBase, aonclkGMAC0TX, "aoncrg gmac0_tx gate (parent of clock tx = gmac0_tx_inv)"),
			enable(SYSCRGBase, sysclkGMAC0GTXCLK, "syscrg gmac0_gtxclk gate (parent of clock gtx)"),
			enable(SYSCRGBase, sysclkGMAC0GTXC, "syscrg gmac0_gtxc gate (clock gtx)"),
			{Addr: aonRstAssert, Value: 0, Mask: rstGMAC0AXIBit | rstGMAC0AHBBit,
				Why: "aoncrg reset gmac0 axi, ahb deassert"},
			{Addr: aonRstStatus, Value: rstGMAC0AXIBit | rstGMAC0AHBBit, Mask: rstGMAC0AXIBit | rstGMAC0AHBBit, Wait: true,
				Why: "aoncrg reset status gmac0 axi, ahb"},
		}, nil
	case 1:
		steps := []RegStep{
			{Addr: gmac1ModeReg, Value: mode << gmac1ModeShift, Mask: modeField << gmac1ModeShift,
				Why: "sys_syscon 0x90 bits 4:2: interface mode (starfive,syscon = <&sys_syscon 0x90 0x2>)"},
			mux(SYSCRGBase, sysclkGMAC1TX, txParent, "syscrg gmac1_tx parent (assigned-clock-parents)"),
		}
		if port.Interface == RMII {
			steps = append(steps, mux(SYSCRGBase, sysclkGMAC1RX, 1, "syscrg gmac1_rx parent gmac1_rmii_rtx (v1.2A RMII)"))
		}
		return append(steps,
			enable(SYSCRGBase, sysclkGMAC1AXI, "syscrg gmac1_axi gate (clock stmmaceth)"),
			enable(SYSCRGBase, sysclkGMAC1AHB, "syscrg gmac1_ahb gate (clock pclk)"),
			enable(SYSCRGBase, sysclkGMAC1PTP, "syscrg gmac1_ptp gate (clock ptp_ref)"),
			enable(SYSCRGBase, sysclkGMAC1TX, "syscrg gmac1_tx gate (parent of clock tx = gmac1_tx_inv)"),
			enable(SYSCRGBase, sysclkGMAC1GTXC, "syscrg gmac1_gtxc gate (clock gtx; its parent gmac1_gtxclk has no gate)"),
			RegStep{Addr: sysRstAssert, Value: 0, Mask: rstGMAC1AXIBit | rstGMAC1AHBBit,
				Why: "syscrg reset gmac1 axi (66), ahb (67) deassert"},
			RegStep{Addr: sysRstStatus, Value: rstGMAC1AXIBit | rstGMAC1AHBBit, Mask: rstGMAC1AXIBit | rstGMAC1AHBBit, Wait: true,
				Why: "syscrg reset status gmac1 axi, ahb"},
		), nil
	}
	return nil, fmt.Errorf("jh7110: no GMAC%d (there are GMAC0 and GMAC1)", port.Index)
}

// TxClockHz returns the transmit clock a link speed needs: 125 MHz at
// 1000 Mbit/s, 25 MHz at 100, 2.5 MHz at 10 (Linux
// starfive_dwmac_fix_mac_speed, U-Boot eqos_set_tx_clk_speed_jh7110).
func TxClockHz(speedMbps int) (uint32, error) {
	switch speedMbps {
	case 1000:
		return 125_000_000, nil
	case 100:
		return 25_000_000, nil
	case 10:
		return 2_500_000, nil
	}
	return 0, fmt.Errorf("jh7110 gmac: no transmit clock for %d Mbit/s", speedMbps)
}

// gtxclkMaxDiv is gmac*_gtxclk's largest divider (JH71X0_GDIV / __DIV
// max 15 in clk-starfive-jh7110-sys.c).
const gtxclkMaxDiv = 15

// TxClockSteps returns the register steps that set port's transmit clock
// for a link speed: none when the port takes its transmit clock from the
// RGMII receive clock (TxUseRGMIIClock; Linux and U-Boot then leave it
// alone), else the divider of gmac*_gtxclk, the parent whose rate both
// drivers set. It fails when PLL0Hz is unknown or the rate cannot be
// reached exactly with a divider of at most 15 (pll0 at 1 GHz or 1.5 GHz
// reaches 125 MHz but not 25 or 2.5 MHz).
func TxClockSteps(port GMACPort, speedMbps int) ([]RegStep, error) {
	hz, err := TxClockHz(speedMbps)
	if err != nil {
		return nil, err
	}
	if port.TxUseRGMIIClock {
		return nil, nil
	}
	if port.PLL0Hz == 0 {
		return nil, fmt.Errorf("jh7110 gmac%d: pll0 rate unknown, cannot set the %d Hz transmit clock", port.Index, hz)
	}
	div := port.PLL0Hz / hz
	if div == 0 || div > gtxclkMaxDiv || port.PLL0Hz%hz != 0 {
		return nil, fmt.Errorf("jh7110 gmac%d: %d Hz transmit clock is not pll0 (%d Hz) divided by 1..%d", port.Index, hz, port.PLL0Hz, gtxclkMaxDiv)
	}
	id := sysclkGMAC0GTXCLK
	if port.Index == 1 {
		id = sysclkGMAC1GTXCLK
	}
	return []RegStep{{Addr: clkReg(SYSCRGBase, id), Value: div, Mask: crgClkDivMask,
		Why: fmt.Sprintf("syscrg gmac%d_gtxclk divider %d for %d Mbit/s", port.Index, div, speedMbps)}}, nil
}

// DefaultGMACPolls bounds each wait of a bring-up sequence.
const DefaultGMACPolls = 100_000

// GMACPlatform applies the bring-up sequences to the hardware; it is the
// platform a dwmac.GMAC is given (it has the methods dwmac.Platform
// names).
type GMACPlatform struct {
	Bus  mmio.Bus
	Port GMACPort
	// Polls bounds each wait; zero means DefaultGMACPolls.
	Polls int
}

// ErrNoBus is returned by a GMACPlatform without a bus.
var ErrNoBus = errors.New("jh7110 gmac: no bus")

// Run applies steps in order with 32-bit accesses, failing at the first
// wait that does not see its value within polls reads.
func Run(bus mmio.Bus, steps []RegStep, polls int) error {
	if bus == nil {
		return ErrNoBus
	}
	if polls <= 0 {
		polls = DefaultGMACPolls
	}
	for _, s := range steps {
		if s.Wait {
			var v uint32
			ok := false
			for i := 0; i < polls; i++ {
				if v = bus.Read32(s.Addr); v&s.Mask == s.Value {
					ok = true
					break
				}
			}
			if !ok {
				return fmt.Errorf("jh7110 gmac: %s: %#x reads %#x after %d polls, want %#x under mask %#x", s.Why, s.Addr, v, polls, s.Value, s.Mask)
			}
			continue
		}
		v := bus.Read32(s.Addr)
		bus.Write32(s.Addr, v&^s.Mask|s.Value&s.Mask)
	}
	return nil
}

// PowerUp enables the MAC's clocks, sets its interface mode and releases
// its resets.
func (p *GMACPlatform) PowerUp() error {
	steps, err := PowerUpSequence(p.Port)
	if err != nil {
		return err
	}
	return Run(p.Bus, steps, p.Polls)
}

// SetTxClock sets the transmit clock for a link speed in Mbit/s.
func (p *GMACPlatform) SetTxClock(speedMbps int) error {
	steps, err := TxClockSteps(p.Port, speedMbps)
	if err != nil {
		return err
	}
	return Run(p.Bus, steps, p.Polls)
}
