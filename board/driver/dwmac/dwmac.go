// Package dwmac drives the Synopsys DesignWare Ethernet QoS MAC (DWMAC 4.x
// and 5.x; the JH7110 has 5.20) as a board.NIC: one DMA channel, one MTL
// queue, normal descriptors, polled transmit completion, a receive
// interrupt.
//
// The driver takes everything as data: the register bus and base, a DMA
// allocator, and a Platform that turns the SoC's clocks, resets and
// interface-mode bits on (for the JH7110, jh7110.GMACPlatform). It knows
// nothing about PHYs; package phy does, over the MDIO type here, and the
// board tells the MAC the negotiated link with SetLink.
//
// None of this has run on a board. It is written from Linux's stmmac
// (dwmac4_*), U-Boot's dwc_eth_qos and the JH7110 device trees, and tested
// against a register and descriptor model (dwmac_test.go). FACTS.md lists
// every fact used and where it was checked.
package dwmac

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"github.com/exo-os/exo/board"
	"github.com/exo-os/exo/board/dma"
	"github.com/exo-os/exo/board/mmio"
)

// Geometry of the rings and buffers.
const (
	// RxRingSize and TxRingSize are the descriptors of each ring. The
	// tail pointer marks the first descriptor the device may not use, so
	// a ring never has all its descriptors with the device: one stays
	// back as the gap (U-Boot eqos_start does the same, pointing the
	// receive tail at the last descriptor).
	RxRingSize = 64
	TxRingSize = 32
	// BufSize is each buffer's length: at least 1536 (a 1518-byte frame
	// with FCS and a VLAN tag, rounded), a multiple of the 64-bit AXI bus
	// width as DMA_CH0_Rx_Control.RBSZ requires (U-Boot
	// eqos_jh7110_config.axi_bus_width = 8).
	BufSize = 1536
	// bufAlign keeps each buffer on a cache line (U-Boot aligns to
	// ARCH_DMA_MINALIGN, 64 on RISC-V).
	bufAlign = 64
)

// DefaultPolls bounds each busy wait (software reset, MDIO) when
// Config.Polls is zero.
const DefaultPolls = 1_000_000

// Errors of GMAC.Transmit: plain values, so that failing allocates nothing.
var (
	// ErrFrameSize is returned for a frame shorter than board.MinFrame or
	// longer than board.MaxFrame.
	ErrFrameSize = errors.New("dwmac: frame is shorter than an Ethernet header or longer than 1514 bytes")
	// ErrTxFull is returned while every transmit descriptor is with the
	// device.
	ErrTxFull = errors.New("dwmac: every transmit descriptor is with the device")
)

// Platform is what the SoC around the MAC provides.
type Platform interface {
	// PowerUp enables the MAC's clocks, sets its PHY interface mode and
	// releases its resets, so that its registers answer.
	PowerUp() error
	// SetTxClock sets the transmit clock for a link speed in Mbit/s
	// (10, 100, 1000).
	SetTxClock(speedMbps int) error
}

// Config describes one MAC.
type Config struct {
	Bus      mmio.Bus
	Base     uintptr
	Alloc    *dma.Allocator
	Platform Platform
	// MAC is the Ethernet address to program (the VisionFive 2 keeps its
	// addresses in an I2C EEPROM; the board reads it).
	MAC [6]byte
	// Speed (10, 100 or 1000; zero means 1000) and FullDuplex are the
	// link the MAC starts with; SetLink changes them once the PHY has
	// negotiated.
	Speed      int
	FullDuplex bool
	// TickHz, if not zero, is the CSR clock; MAC_1US_Tic_Counter is set
	// to TickHz/1e6 - 1 (U-Boot eqos_start).
	TickHz uint32
	// MDIOClockRange is MAC_MDIO_Address.CR; zero means
	// MDIOClockRange250To300.
	MDIOClockRange uint32
	// PBL is the DMA programmable burst length for both directions;
	// zero means 16 (jh7110.dtsi: snps,txpbl = snps,rxpbl = 16, with
	// snps,no-pbl-x8).
	PBL uint32
	// Promiscuous sets MAC_Packet_Filter.PR, as U-Boot does. Without it
	// the MAC passes frames to its address, broadcast and (PM) every
	// multicast frame; the kernel filters further.
	Promiscuous bool
	// Polls bounds each busy wait; zero means DefaultPolls.
	Polls int
}

// Stats counts what a GMAC has done, for reports.
type Stats struct {
	// Received counts frames handed out by Receive.
	Received uint64
	// RxErrors counts frames the device marked with its error summary
	// (CRC, overflow, watchdog, giant...); dropped, the buffer reposted.
	RxErrors uint64
	// RxOversize counts frames that did not fit one buffer (the device
	// spread them over several descriptors) or whose length is outside
	// board.MinFrame..board.MaxFrame; dropped.
	RxOversize uint64
	// RxContext counts context descriptors (timestamps) skipped.
	RxContext uint64
	// Transmitted counts frames handed to the device.
	Transmitted uint64
	// TxErrors counts frames the device reported back with an error.
	TxErrors uint64
	// TxFull counts Transmit calls that failed with ErrTxFull.
	TxFull uint64
	// Interrupts counts Interrupt calls; BusErrors counts fatal bus
	// errors the DMA reported (the channel stops; only a new New helps).
	Interrupts uint64
	BusErrors  uint64
	// LinkChanges counts link-status interrupts from the MAC's RGMII
	// in-band status.
	LinkChanges uint64
}

// Link is the link as the MAC sees it.
type Link struct {
	Up         bool
	Speed      int // Mbit/s
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

// GMAC is one DWMAC with its rings. It implements board.NIC; no method
// allocates. Descriptor i of a ring always describes buffer i of that
// ring, so a device that scribbles on a descriptor's address cannot make
// the driver hand out memory other than its own buffers.
type GMAC struct {
	bus   mmio.Bus
	base  uintptr
	plat  Platform
	mac   [6]byte
	polls int
	cr    uint32

	rxDesc, txDesc []byte // ring memory, descSize per descriptor
	rxBuf, txBuf   []byte // ring-size buffers of BufSize
	rxDescPA       uint64
	txDescPA       uint64
	rxBufPA        uint64
	txBufPA        uint64

	// Receive: rxHead is the next descriptor to look at; the descriptor
	// before it is the gap. held is the descriptor whose frame Receive
	// returned, or -1. rxDiscard is set while the rest of a frame that
	// did not fit one buffer is skipped.
	rxHead    int
	rxTail    int // the descriptor the tail register points at (the gap)
	held      int
	rxDiscard bool
	// Transmit: txHead is the oldest descriptor with the device, txTail
	// the next to fill, txBusy how many are with the device.
	txHead, txTail, txBusy int

	link  Link
	stats Stats
}

var _ board.NIC = (*GMAC)(nil)

// New allocates the rings and buffers (before the device is touched),
// powers the MAC up through the platform, resets it (DMA_Mode.SWR, a
// bounded wait), and sets it up: DMA, MTL, MAC, address, rings (receive
// ring full), interrupts, then starts both DMA directions and the MAC.
// It fails, naming what did not happen, if the allocator is short, the
// platform fails, or the reset does not complete.
func New(cfg Config) (*GMAC, error) {
	if cfg.Bus == nil || cfg.Alloc == nil || cfg.Platform == nil {
		return nil, fmt.Errorf("dwmac at %#x: configuration lacks a bus, a DMA allocator or a platform", cfg.Base)
	}
	g := &GMAC{bus: cfg.Bus, base: cfg.Base, plat: cfg.Platform, mac: cfg.MAC, held: -1, polls: cfg.Polls, cr: cfg.MDIOClockRange}
	if g.polls <= 0 {
		g.polls = DefaultPolls
	}
	if g.cr == 0 {
		g.cr = MDIOClockRange250To300
	}
	speed := cfg.Speed
	if speed == 0 {
		speed = 1000
	}
	macSpeed, err := speedBits(speed)
	if err != nil {
		return nil, fmt.Errorf("dwmac at %#x: %w", cfg.Base, err)
	}
	pbl := cfg.PBL
	if pbl == 0 {
		pbl = 16
	}
	if pbl > 0x3f {
		return nil, fmt.Errorf("dwmac at %#x: burst length %d does not fit PBL's 6 bits", cfg.Base, pbl)
	}
	for _, a := range []struct {
		what string
		mem  *[]byte
		pa   *uint64
		n    int
	}{
		{"receive descriptors", &g.rxDesc, &g.rxDescPA, RxRingSize * descSize},
		{"transmit descriptors", &g.txDesc, &g.txDescPA, TxRingSize * descSize},
		{"receive buffers", &g.rxBuf, &g.rxBufPA, RxRingSize * BufSize},
		{"transmit buffers", &g.txBuf, &g.txBufPA, TxRingSize * BufSize},
	} {
		if *a.mem, *a.pa, err = cfg.Alloc.Alloc(a.n, bufAlign); err != nil {
			return nil, fmt.Errorf("dwmac at %#x: %s: %w", cfg.Base, a.what, err)
		}
	}
	// The device's tail and base registers take 32-bit addresses low
	// halves; the rings themselves must not straddle a 4 GiB boundary.
	for _, r := range []struct {
		what string
		pa   uint64
		n    int
	}{{"receive", g.rxDescPA, RxRingSize * descSize}, {"transmit", g.txDescPA, TxRingSize * descSize}} {
		if r.pa>>32 != (r.pa+uint64(r.n)-1)>>32 {
			return nil, fmt.Errorf("dwmac at %#x: %s ring at %#x crosses a 4 GiB boundary", cfg.Base, r.what, r.pa)
		}
	}

	if err := g.plat.PowerUp(); err != nil {
		return nil, fmt.Errorf("dwmac at %#x: power-up: %w", cfg.Base, err)
	}
	if err := g.reset(); err != nil {
		return nil, err
	}

	// DMA (Linux dwmac4_dma_init; U-Boot eqos_start "DMA performance
	// configuration").
	g.set(regDMAMode, dmaModeDCHE)
	g.w(regDMASysBusMode, 2<<sysBusRdOSRShift|sysBusEAME|sysBusBLEN16|sysBusBLEN8|sysBusBLEN4)
	if cfg.TickHz >= 1_000_000 {
		g.w(regUsTicCounter, cfg.TickHz/1_000_000-1)
	}

	// MTL: store and forward both ways, all of each FIFO for queue 0
	// (U-Boot eqos_start "Configure MTL"). HW_FEATURE1 gives the FIFO
	// sizes as log2(bytes/128); the jh7110.dtsi says 2048 each.
	hw := g.r(regHWFeature1)
	tqs := fifoQS(hw>>hwFeature1TxFIFO&0x1f, txqOpTQSMask)
	rqs := fifoQS(hw>>hwFeature1RxFIFO&0x1f, rxqOpRQSMask)
	g.w(regTxQ0OpMode, txqOpTSF|txqOpTXQEN|tqs<<txqOpTQSShift)
	g.w(regRxQ0OpMode, rxqOpRSF|rqs<<rxqOpRQSShift)

	// MAC (U-Boot eqos_start "Configure MAC").
	g.w(regRxQCtrl0, rxQCtrl0DCB)
	g.set(regRxQCtrl1, rxQCtrl1MCBCQEN)
	filter := uint32(packetFilterPM)
	if cfg.Promiscuous {
		filter |= packetFilterPR
	}
	g.w(regPacketFilter, filter)
	conf := g.r(regMACConfig)&^(macConfigGPSLCE|macConfigWD|macConfigJD|macConfigJE|macConfigPS|macConfigFES|macConfigDM|macConfigTE|macConfigRE) |
		macConfigCST | macConfigACS | macSpeed
	if cfg.FullDuplex {
		conf |= macConfigDM
	}
	g.w(regMACConfig, conf)
	g.writeMAC()

	// DMA channel 0 (U-Boot eqos_start "Configure DMA"; descriptors
	// packed, DSL = 0; PBL from the tree, no PBLx8).
	g.w(regCh0Control, 0)
	g.w(regCh0TxControl, chTxOSP|pbl<<chPBLShift)
	g.w(regCh0RxControl, BufSize<<chRxRBSZShift|pbl<<chPBLShift)

	// Rings: every receive descriptor but the gap (the last) with the
	// device, no transmit descriptor.
	for i := 0; i < RxRingSize-1; i++ {
		g.armRx(i)
	}
	g.w(regCh0TxBaseHi, uint32(g.txDescPA>>32))
	g.w(regCh0TxBaseLo, uint32(g.txDescPA))
	g.w(regCh0TxRingLen, TxRingSize-1)
	g.w(regCh0RxBaseHi, uint32(g.rxDescPA>>32))
	g.w(regCh0RxBaseLo, uint32(g.rxDescPA))
	g.w(regCh0RxRingLen, RxRingSize-1)

	// Interrupts: receive only (transmit buffers are reclaimed by
	// Transmit), with the normal and abnormal summaries at their
	// DWMAC 4.10+ positions, fatal bus errors, and the MAC's link
	// status change.
	g.w(regCh0Status, g.r(regCh0Status)) // write-one-to-clear leftovers
	g.w(regCh0IntEnable, intEnableNIE|intEnableRIE|intEnableAIE|intEnableFBEE)
	g.w(regMACIntEnable, macIntRGSMIIIS)

	// Start (U-Boot eqos_start "Enable everything"), then hand the
	// receive ring over by moving its tail to the gap.
	g.set(regCh0TxControl, chTxST)
	g.set(regCh0RxControl, chRxSR)
	g.set(regMACConfig, macConfigTE|macConfigRE)
	g.rxTail = RxRingSize - 1
	g.w(regCh0RxTail, g.rxDescAddr(g.rxTail))

	g.link = Link{Up: false, Speed: speed, FullDuplex: cfg.FullDuplex}
	if err := g.plat.SetTxClock(speed); err != nil {
		return nil, fmt.Errorf("dwmac at %#x: %w", cfg.Base, err)
	}
	return g, nil
}

// fifoQS turns HW_FEATURE1's log2(bytes/128) into TQS/RQS's bytes/256-1,
// bounded to what the field can hold.
func fifoQS(log, mask uint32) uint32 {
	if log > fifoSizeMaxLog {
		log = fifoSizeMaxLog
	}
	qs := uint32(128)<<log/256 - 1
	if log == 0 {
		qs = 0 // 128 bytes: the smallest the field describes is 256
	}
	return qs & mask
}

// reset sets DMA_Mode.SWR, which resets the DMA, MTL and MAC (not the
// PHY), and waits, bounded,
// for the device to clear it. The reset needs every clock running,
// including the receive clock the PHY supplies; a reset that never
// completes is the classic symptom of a missing clock (Linux
// dwmac4_dma_reset; U-Boot only waits, after its reset deassert).
func (g *GMAC) reset() error {
	g.set(regDMAMode, dmaModeSWR)
	var v uint32
	for i := 0; i < g.polls; i++ {
		if v = g.r(regDMAMode); v&dmaModeSWR == 0 {
			return nil
		}
	}
	return fmt.Errorf("dwmac at %#x: software reset did not complete (DMA_Mode %#x after %d polls): a clock is not running (the RGMII receive clock comes from the PHY)", g.base, v, g.polls)
}

func speedBits(speed int) (uint32, error) {
	switch speed {
	case 1000:
		return 0, nil
	case 100:
		return macConfigPS | macConfigFES, nil
	case 10:
		return macConfigPS, nil
	}
	return 0, fmt.Errorf("dwmac: unsupported link speed %d Mbit/s", speed)
}

func (g *GMAC) r(off uintptr) uint32      { return g.bus.Read32(g.base + off) }
func (g *GMAC) w(off uintptr, v uint32)   { g.bus.Write32(g.base+off, v) }
func (g *GMAC) set(off uintptr, v uint32) { g.w(off, g.r(off)|v) }

// writeMAC programs MAC_Address0 (U-Boot eqos_write_hwaddr: bytes 5:4 in
// HIGH's low half, bytes 3:0 in LOW, little-endian; HIGH's AE bit 31 is
// read-only 1 for address 0).
func (g *GMAC) writeMAC() {
	m := g.mac
	g.w(regAddr0High, uint32(m[5])<<8|uint32(m[4]))
	g.w(regAddr0Low, uint32(m[3])<<24|uint32(m[2])<<16|uint32(m[1])<<8|uint32(m[0]))
}

// MAC returns the Ethernet address the MAC was programmed with.
func (g *GMAC) MAC() [6]byte { return g.mac }

// Stats returns the driver's counters.
func (g *GMAC) Stats() Stats { return g.stats }

// Link returns the link as last set by SetLink or reported by the MAC's
// link-status interrupt.
func (g *GMAC) Link() Link { return g.link }

// SetLink sets the MAC's speed and duplex to what the PHY negotiated and
// the platform's transmit clock to match (U-Boot eqos_adjust_link), and
// records whether the link is up.
func (g *GMAC) SetLink(l Link) error {
	bits, err := speedBits(l.Speed)
	if err != nil {
		return fmt.Errorf("dwmac at %#x: %w", g.base, err)
	}
	conf := g.r(regMACConfig) &^ (macConfigPS | macConfigFES | macConfigDM)
	conf |= bits
	if l.FullDuplex {
		conf |= macConfigDM
	}
	g.w(regMACConfig, conf)
	if err := g.plat.SetTxClock(l.Speed); err != nil {
		return fmt.Errorf("dwmac at %#x: %w", g.base, err)
	}
	g.link = l
	return nil
}

// word returns the 32-bit word w of the descriptor at off in ring, for
// atomic access: the OWN word is published and read with atomics, which
// order the other words' accesses around them (the same barrier the
// virtio driver's rings use: on riscv64 an amoswap.w.aqrl / an lw with
// fence). The tail-pointer register store that follows goes through
// mmio.Direct, which fences before every store.
func word(ring []byte, off, w int) *uint32 {
	return (*uint32)(unsafe.Pointer(&ring[off+4*w]))
}

func (g *GMAC) rxDescAddr(i int) uint32 { return uint32(g.rxDescPA) + uint32(i*descSize) }
func (g *GMAC) txDescAddr(i int) uint32 { return uint32(g.txDescPA) + uint32(i*descSize) }

// armRx writes receive descriptor i afresh (buffer i, interrupt on
// completion) and gives it to the device.
func (g *GMAC) armRx(i int) {
	off := i * descSize
	pa := g.rxBufPA + uint64(i*BufSize)
	*word(g.rxDesc, off, 0) = uint32(pa)
	*word(g.rxDesc, off, 1) = uint32(pa >> 32)
	*word(g.rxDesc, off, 2) = 0
	atomic.StoreUint32(word(g.rxDesc, off, 3), desc3OWN|desc3IOC|desc3BUF1V)
}

// recycle gives the device back the gap descriptor before i, now that i
// (consumed) becomes the gap, and moves the tail to i.
func (g *GMAC) recycle(i int) {
	g.armRx((i + RxRingSize - 1) % RxRingSize)
	g.rxTail = i
	g.w(regCh0RxTail, g.rxDescAddr(i))
}

// Receive returns the next frame the device has delivered, or nil if none
// is waiting or the last frame returned has not been Released. Frames the
// device marked as errors, frames that spilled over more than one buffer,
// and frames of a length outside board.MinFrame..board.MaxFrame are
// dropped, counted, and their buffers given back.
func (g *GMAC) Receive() []byte {
	if g.held >= 0 {
		return nil
	}
	for n := 0; n < RxRingSize; n++ { // bounded: at most one pass of the ring
		i := g.rxHead
		off := i * descSize
		d3 := atomic.LoadUint32(word(g.rxDesc, off, 3))
		if d3&desc3OWN != 0 {
			return nil
		}
		g.rxHead = (i + 1) % RxRingSize
		switch {
		case d3&desc3CTXT != 0:
			g.stats.RxContext++
		case g.rxDiscard || d3&(desc3FD|desc3LD) != desc3FD|desc3LD:
			// Part of a frame longer than a buffer: drop every
			// piece up to and including the last.
			if d3&desc3LD != 0 {
				g.rxDiscard = false
				g.stats.RxOversize++
			} else {
				g.rxDiscard = true
			}
		case d3&desc3ES != 0:
			g.stats.RxErrors++
		default:
			length := int(d3 & desc3LenMask)
			if length < board.MinFrame || length > board.MaxFrame {
				g.stats.RxOversize++
				break
			}
			g.held = i
			g.stats.Received++
			b := i * BufSize
			return g.rxBuf[b : b+length : b+length]
		}
		g.recycle(i)
	}
	return nil
}

// Release gives the buffer of the frame Receive last returned back to the
// device.
func (g *GMAC) Release() {
	if g.held < 0 {
		return
	}
	i := g.held
	g.held = -1
	g.recycle(i)
}

// reclaim takes back the transmit descriptors the device has finished.
func (g *GMAC) reclaim() {
	for g.txBusy > 0 {
		off := g.txHead * descSize
		d3 := atomic.LoadUint32(word(g.txDesc, off, 3))
		if d3&desc3OWN != 0 {
			return
		}
		if d3&desc3ES != 0 {
			g.stats.TxErrors++
		}
		g.txHead = (g.txHead + 1) % TxRingSize
		g.txBusy--
	}
}

// Transmit copies frame into the next transmit buffer and hands it to the
// device (one descriptor, first and last, CRC and padding inserted by the
// MAC), after reclaiming the descriptors the device has finished. It
// fails with ErrFrameSize or ErrTxFull, sending nothing.
func (g *GMAC) Transmit(frame []byte) error {
	if len(frame) < board.MinFrame || len(frame) > board.MaxFrame {
		return ErrFrameSize
	}
	g.reclaim()
	if g.txBusy == TxRingSize-1 {
		g.stats.TxFull++
		return ErrTxFull
	}
	i := g.txTail
	b := i * BufSize
	copy(g.txBuf[b:b+len(frame)], frame)
	pa := g.txBufPA + uint64(b)
	off := i * descSize
	*word(g.txDesc, off, 0) = uint32(pa)
	*word(g.txDesc, off, 1) = uint32(pa >> 32)
	*word(g.txDesc, off, 2) = uint32(len(frame)) & tdes2B1LMask // no IOC: reclaimed by polling
	atomic.StoreUint32(word(g.txDesc, off, 3), desc3OWN|desc3FD|desc3LD|uint32(len(frame))&desc3LenMask)
	g.txTail = (i + 1) % TxRingSize
	g.txBusy++
	g.w(regCh0TxTail, g.txDescAddr(g.txTail))
	g.stats.Transmitted++
	return nil
}

// Interrupt acknowledges the MAC's interrupt: the DMA channel's status
// (write one to clear; the receive ring is read afterwards by Receive, so
// a frame that arrives while its interrupt is pending is not missed), and
// the MAC's RGMII link-status change, which MAC_PHYIF_Control_Status
// reports (reading it clears the interrupt). A receive-buffer-unavailable
// stop is resumed by writing the tail pointer again.
func (g *GMAC) Interrupt() {
	g.stats.Interrupts++
	st := g.r(regCh0Status)
	if st != 0 {
		g.w(regCh0Status, st)
	}
	if st&statusFBE != 0 {
		g.stats.BusErrors++
	}
	if st&statusRBU != 0 {
		g.w(regCh0RxTail, g.rxDescAddr(g.rxTail))
	}
	if g.r(regMACIntStatus)&macIntRGSMIIIS != 0 {
		ps := g.r(regPHYIFStatus)
		l := Link{Up: ps&phyifLNKSTS != 0, FullDuplex: ps&phyifLNKMOD != 0}
		switch ps >> phyifSpeedShift & 3 {
		case 0:
			l.Speed = 10
		case 1:
			l.Speed = 100
		default:
			l.Speed = 1000
		}
		if !l.Up {
			l.Speed, l.FullDuplex = g.link.Speed, g.link.FullDuplex
		}
		g.link = l
		g.stats.LinkChanges++
	}
	g.reclaim()
}
