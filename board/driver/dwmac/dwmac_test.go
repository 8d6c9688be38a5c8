package dwmac

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/dma"
	"github.com/exo-os/exo/board/mmio/mmiotest"
)

const (
	base    = 0x16030000 // the JH7110's GMAC0 (jh7110.GMAC0Base)
	memPA   = 0x48000000 // the model's DMA region
	memSize = 256 << 10
	// marker addresses the fake platform writes, so that its calls show
	// up in the register log in order.
	markPowerUp = 0x0dead000
	markTxClock = 0x0dead004
)

var testMAC = [6]byte{0x6c, 0xcf, 0x39, 0x00, 0x12, 0x34}

// platform is a fake Platform that logs its calls into the model.
type platform struct {
	m       *gmacModel
	powerUp error
	speeds  []int
}

func (p *platform) PowerUp() error {
	p.m.Write32(markPowerUp, 1)
	return p.powerUp
}

func (p *platform) SetTxClock(speed int) error {
	p.m.Write32(markTxClock, uint32(speed))
	p.speeds = append(p.speeds, speed)
	return nil
}

// gmacModel is a DWMAC 5.20 register and descriptor model at the JH7110's
// GMAC0 address: DMA_Mode.SWR self-clears after a few reads (or never),
// the channel status is write-one-to-clear, reading MAC_PHYIF_Control_
// Status clears the link interrupt, the MDIO master runs its command when
// the busy bit is written, and the DMA walks the rings in the driver's
// memory, honouring OWN, the tail pointers and the ring lengths.
type gmacModel struct {
	*mmiotest.Model
	t   *testing.T
	mem []byte

	swrStuck bool
	swrReads int
	status   uint32 // DMA_CH0_Status
	macInt   uint32 // MAC_Interrupt_Status

	rxCur, txCur int
	consume      bool // the transmit DMA takes frames when the tail moves
	txError      bool // and reports them with an error
	sent         int
	last         []byte // the last frame sent (no allocation: reused)

	mdioBusyForever bool
	phyRegs         map[[2]int]uint16
}

func newModel(t *testing.T, mem []byte) *gmacModel {
	m := &gmacModel{Model: mmiotest.New(false), t: t, mem: mem, consume: true, last: make([]byte, 0, BufSize),
		phyRegs: map[[2]int]uint16{}}
	m.Set(base+regHWFeature1, 4<<hwFeature1TxFIFO|4) // 2048-byte FIFOs, as jh7110.dtsi says
	m.OnRead[base+regDMAMode] = func() uint64 {
		v := m.Get(base + regDMAMode)
		if v&dmaModeSWR != 0 && !m.swrStuck {
			if m.swrReads++; m.swrReads >= 3 {
				v &^= dmaModeSWR
				m.Set(base+regDMAMode, v)
			}
		}
		return v
	}
	m.OnRead[base+regCh0Status] = func() uint64 { return uint64(m.status) }
	m.OnWrite[base+regCh0Status] = func(v uint64) { m.status &^= uint32(v) }
	m.OnRead[base+regMACIntStatus] = func() uint64 { return uint64(m.macInt) }
	m.OnRead[base+regPHYIFStatus] = func() uint64 {
		m.macInt &^= macIntRGSMIIIS
		return m.Get(base + regPHYIFStatus)
	}
	m.OnWrite[base+regCh0TxTail] = func(uint64) { m.runTx() }
	m.OnWrite[base+regMDIOAddress] = func(v uint64) {
		if v&mdioGB == 0 || m.mdioBusyForever {
			return
		}
		pa, reg := int(v>>mdioPAShift&31), int(v>>mdioRDAShift&31)
		if v>>mdioCRShift&0xf != MDIOClockRange250To300 {
			t.Errorf("MDIO clock range %d", v>>mdioCRShift&0xf)
		}
		switch v >> mdioGOCShift & 3 {
		case mdioGOCRead:
			m.Set(base+regMDIOData, uint64(m.phyRegs[[2]int{pa, reg}]))
		case mdioGOCWrite:
			m.phyRegs[[2]int{pa, reg}] = uint16(m.Get(base + regMDIOData))
		default:
			t.Errorf("MDIO command %#x", v)
		}
		m.Set(base+regMDIOAddress, v&^mdioGB)
	}
	return m
}

func (m *gmacModel) at(pa uint64, n int) []byte {
	if pa < memPA || pa-memPA+uint64(n) > uint64(len(m.mem)) {
		m.t.Fatalf("device access to [%#x, +%d) outside DMA memory", pa, n)
	}
	return m.mem[pa-memPA : pa-memPA+uint64(n)]
}

func (m *gmacModel) reg(off uintptr) uint64 { return m.Get(base + off) }

func (m *gmacModel) ring(lo, hi, length uintptr) (uint64, int) {
	return m.reg(hi)<<32 | m.reg(lo), int(m.reg(length)) + 1
}

// deliver receives frame as the receive DMA would, splitting it over
// descriptors of the programmed buffer size; extra is ORed into the last
// descriptor's write-back (an error bit). It reports false, changing
// nothing, when the ring has no room (tail reached or a descriptor not
// owned: receive buffer unavailable).
func (m *gmacModel) deliver(frame []byte, extra uint32) bool {
	if m.reg(regCh0RxControl)&chRxSR == 0 || m.reg(regMACConfig)&macConfigRE == 0 {
		m.t.Fatalf("frame delivered with receive stopped")
	}
	ring, n := m.ring(regCh0RxBaseLo, regCh0RxBaseHi, regCh0RxRingLen)
	bufSize := int(m.reg(regCh0RxControl) >> chRxRBSZShift & 0x3fff)
	pieces := (len(frame) + bufSize - 1) / bufSize
	for k := 0; k < pieces; k++ { // check room first
		i := (m.rxCur + k) % n
		d := m.at(ring+uint64(16*i), 16)
		if uint32(ring)+uint32(16*i) == uint32(m.reg(regCh0RxTail)) || binary.LittleEndian.Uint32(d[12:])&desc3OWN == 0 {
			m.status |= statusRBU | statusAIS
			return false
		}
	}
	for k := 0; k < pieces; k++ {
		d := m.at(ring+uint64(16*m.rxCur), 16)
		d3 := binary.LittleEndian.Uint32(d[12:])
		if d3&(desc3BUF1V|desc3IOC) != desc3BUF1V|desc3IOC {
			m.t.Errorf("receive descriptor %d armed as %#x", m.rxCur, d3)
		}
		buf := binary.LittleEndian.Uint64(d[0:])
		chunk := frame[k*bufSize : min(len(frame), (k+1)*bufSize)]
		copy(m.at(buf, len(chunk)), chunk)
		var wb uint32
		if k == 0 {
			wb |= desc3FD
		}
		if k == pieces-1 {
			wb |= desc3LD | extra | uint32(len(frame))
		}
		binary.LittleEndian.PutUint32(d[12:], wb) // OWN cleared: back to the driver
		m.rxCur = (m.rxCur + 1) % n
	}
	m.status |= statusRI | statusNIS
	return true
}

// runTx lets the transmit DMA walk from its current descriptor to the
// tail.
func (m *gmacModel) runTx() {
	if !m.consume {
		return
	}
	ring, n := m.ring(regCh0TxBaseLo, regCh0TxBaseHi, regCh0TxRingLen)
	tail := uint32(m.reg(regCh0TxTail))
	for uint32(ring)+uint32(16*m.txCur) != tail {
		d := m.at(ring+uint64(16*m.txCur), 16)
		d3 := binary.LittleEndian.Uint32(d[12:])
		if d3&desc3OWN == 0 {
			m.t.Errorf("transmit tail moved past descriptor %d, which the driver did not give", m.txCur)
			return
		}
		if d3&(desc3FD|desc3LD) != desc3FD|desc3LD {
			m.t.Errorf("transmit descriptor %d is not a whole frame: %#x", m.txCur, d3)
		}
		length := int(binary.LittleEndian.Uint32(d[8:]) & tdes2B1LMask)
		if int(d3&desc3LenMask) != length {
			m.t.Errorf("transmit descriptor %d: buffer %d bytes, frame %d", m.txCur, length, d3&desc3LenMask)
		}
		m.last = append(m.last[:0], m.at(binary.LittleEndian.Uint64(d[0:]), length)...)
		m.sent++
		wb := uint32(desc3FD | desc3LD)
		if m.txError {
			wb |= desc3ES
		}
		binary.LittleEndian.PutUint32(d[12:], wb)
		m.txCur = (m.txCur + 1) % n
	}
}

func pageMem(n int) []byte {
	b := make([]byte, n+dma.MaxAlign)
	off := (dma.MaxAlign - int(uintptr(unsafe.Pointer(&b[0])))%dma.MaxAlign) % dma.MaxAlign
	return b[off : off+n]
}

func setup(t *testing.T, mutate func(*gmacModel, *Config)) (*gmacModel, *GMAC, *platform, error) {
	t.Helper()
	mem := pageMem(memSize)
	m := newModel(t, mem)
	alloc, err := dma.New(memPA, memPA+memSize, mem)
	require.NoError(t, err)
	p := &platform{m: m}
	cfg := Config{Bus: m, Base: base, Alloc: alloc, Platform: p, MAC: testMAC, FullDuplex: true, TickHz: 250_000_000}
	if mutate != nil {
		mutate(m, &cfg)
	}
	g, err := New(cfg)
	return m, g, p, err
}

func mustSetup(t *testing.T) (*gmacModel, *GMAC, *platform) {
	t.Helper()
	m, g, p, err := setup(t, nil)
	require.NoError(t, err)
	return m, g, p
}

func frame(n int, seed byte) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = seed + byte(i*7)
	}
	return f
}

// TestBringUpOrder compares every register write New makes, in order,
// with the sequence of FACTS.md §bring-up.
func TestBringUpOrder(t *testing.T) {
	m, g, p := mustSetup(t)
	require.NoError(t, m.Err())
	type w struct {
		addr uintptr
		v    uint64
	}
	var got []w
	for _, a := range m.Log {
		if a.Write {
			require.Equal(t, 4, a.Width, "access width at %#x", a.Addr)
			got = append(got, w{a.Addr, a.Value})
		}
	}
	rx, tx := uint64(memPA), uint64(memPA+RxRingSize*16)
	want := []w{
		{markPowerUp, 1},
		{base + 0x1000, 1},                     // DMA_Mode.SWR
		{base + 0x1000, 1 << 19},               // DCHE (Linux dwmac-starfive.c)
		{base + 0x1004, 2<<16 | 1<<11 | 0xe},   // RD_OSR_LMT 2, EAME, BLEN16/8/4
		{base + 0x00dc, 249},                   // 1 µs tick at 250 MHz
		{base + 0x0d00, 7<<16 | 2<<2 | 1<<1},   // TQS 2048/256-1, TXQEN, TSF
		{base + 0x0d30, 7<<20 | 1<<5},          // RQS, RSF
		{base + 0x00a0, 2},                     // RXQ0EN DCB
		{base + 0x00a4, 1 << 20},               // MCBCQEN
		{base + 0x0008, 1 << 4},                // PM
		{base + 0x0000, 1<<21 | 1<<20 | 1<<13}, // CST, ACS, DM; 1000 Mbit/s
		{base + 0x0300, 0x3412},
		{base + 0x0304, 0x0039cf6c},
		{base + 0x1100, 0},
		{base + 0x1104, 16<<16 | 1<<4},    // TXPBL 16, OSP
		{base + 0x1108, 16<<16 | 1536<<1}, // RXPBL 16, RBSZ
		{base + 0x1110, tx >> 32}, {base + 0x1114, tx & 0xffffffff}, {base + 0x112c, TxRingSize - 1},
		{base + 0x1118, rx >> 32}, {base + 0x111c, rx & 0xffffffff}, {base + 0x1130, RxRingSize - 1},
		{base + 0x1160, 0}, // clear status
		{base + 0x1134, 1<<15 | 1<<14 | 1<<12 | 1<<6}, // NIE, AIE (4.10+ positions), FBE, RIE
		{base + 0x00b4, 1},                            // RGSMIIIE
		{base + 0x1104, 16<<16 | 1<<4 | 1},            // ST
		{base + 0x1108, 16<<16 | 1536<<1 | 1},         // SR
		{base + 0x0000, 1<<21 | 1<<20 | 1<<13 | 3},    // TE, RE
		{base + 0x1128, rx + 16*(RxRingSize-1)},       // receive tail at the gap
		{markTxClock, 1000},
	}
	require.Equal(t, want, got)
	require.Equal(t, []int{1000}, p.speeds)
	require.Equal(t, testMAC, g.MAC())
	// Every receive descriptor but the gap is armed.
	for i := 0; i < RxRingSize; i++ {
		d3 := binary.LittleEndian.Uint32(m.at(rx+uint64(16*i)+12, 4))
		if i == RxRingSize-1 {
			require.Zero(t, d3)
		} else {
			require.Equal(t, uint32(desc3OWN|desc3IOC|desc3BUF1V), d3, "descriptor %d", i)
			require.Equal(t, uint32(memPA+(RxRingSize+TxRingSize)*16+i*BufSize), binary.LittleEndian.Uint32(m.at(rx+uint64(16*i), 4)))
		}
	}
}

func TestNewFailures(t *testing.T) {
	// A reset that never completes: bounded, an error, nothing set up.
	m, _, _, err := setup(t, func(m *gmacModel, c *Config) { m.swrStuck = true; c.Polls = 100 })
	require.ErrorContains(t, err, "software reset did not complete")
	require.ErrorContains(t, err, "after 100 polls")
	reads := 0
	for _, a := range m.Log {
		if !a.Write && a.Addr == base+regDMAMode {
			reads++
		}
		require.False(t, a.Write && a.Addr == base+regCh0RxBaseLo, "ring programmed after a failed reset")
	}
	require.Equal(t, 101, reads) // the read-modify-write of SWR, then 100 polls

	_, _, _, err = setup(t, func(m *gmacModel, c *Config) { c.Platform.(*platform).powerUp = errFake })
	require.ErrorContains(t, err, "power-up: fake")
	_, _, _, err = setup(t, func(m *gmacModel, c *Config) { c.Speed = 2500 })
	require.ErrorContains(t, err, "2500")
	_, _, _, err = setup(t, func(m *gmacModel, c *Config) { c.Platform = nil })
	require.Error(t, err)
	// Too little DMA memory: refused before the device is touched.
	m, _, _, err = setup(t, func(m *gmacModel, c *Config) {
		a, err := dma.New(memPA, memPA+8192, m.mem[:8192])
		require.NoError(t, err)
		c.Alloc = a
	})
	require.ErrorContains(t, err, "receive buffers")
	require.Empty(t, m.Log)
}

type fakeErr string

func (e fakeErr) Error() string { return string(e) }

const errFake = fakeErr("fake")

// TestReceiveOwnership checks the handover: a frame the device delivers is
// the driver's until Release, and only then does the gap before it go back
// to the device, with the tail pointer moved onto the held descriptor.
func TestReceiveOwnership(t *testing.T) {
	m, g, _ := mustSetup(t)
	require.Nil(t, g.Receive())
	f := frame(60, 1)
	require.True(t, m.deliver(f, 0))
	got := g.Receive()
	require.Equal(t, f, got)
	require.Equal(t, cap(got), len(got))
	require.Nil(t, g.Receive(), "a second frame before Release")
	gap := uint64(memPA + 16*(RxRingSize-1))
	require.Zero(t, binary.LittleEndian.Uint32(m.at(gap+12, 4)), "gap given back before Release")
	g.Release()
	require.Equal(t, uint32(desc3OWN|desc3IOC|desc3BUF1V), binary.LittleEndian.Uint32(m.at(gap+12, 4)))
	require.Equal(t, uint64(memPA), m.reg(regCh0RxTail))
	g.Release() // a second Release does nothing
	require.Equal(t, uint64(1), g.Stats().Received)
}

// TestReceiveWrap runs three times the ring's length of frames through,
// in bursts that fill the ring, checking each comes out whole and in order.
func TestReceiveWrap(t *testing.T) {
	m, g, _ := mustSetup(t)
	next, seen := 0, 0
	for seen < 3*RxRingSize {
		// Fill until the device runs out of buffers.
		for m.deliver(frame(60+next%1400, byte(next)), 0) {
			next++
		}
		require.Equal(t, uint32(statusRBU), m.status&statusRBU)
		g.Interrupt()
		require.Zero(t, m.status)
		for f := g.Receive(); f != nil; f = g.Receive() {
			require.Equal(t, frame(60+seen%1400, byte(seen)), f)
			seen++
			g.Release()
		}
		require.Equal(t, next, seen)
	}
	// With nothing held, the device may fill every descriptor but one.
	n := 0
	for m.deliver(frame(100, 0), 0) {
		n++
	}
	require.Equal(t, RxRingSize-1, n)
	require.Equal(t, uint64(seen), g.Stats().Received)
}

func TestReceiveDrops(t *testing.T) {
	m, g, _ := mustSetup(t)
	good := frame(200, 9)
	require.True(t, m.deliver(frame(64, 1), desc3ES|1<<24)) // CRC error
	require.True(t, m.deliver(frame(BufSize+100, 2), 0))    // two descriptors
	require.True(t, m.deliver(frame(10, 3), 0))             // runt
	require.True(t, m.deliver(frame(1515, 4), 0))           // one byte too long for board.MaxFrame
	require.True(t, m.deliver(good, 0))
	require.Equal(t, good, g.Receive())
	g.Release()
	s := g.Stats()
	require.Equal(t, uint64(1), s.RxErrors)
	require.Equal(t, uint64(3), s.RxOversize)
	require.Equal(t, uint64(1), s.Received)
	// Every dropped buffer went back: the ring takes a full load again.
	n := 0
	for m.deliver(frame(100, 0), 0) {
		n++
	}
	require.Equal(t, RxRingSize-1, n)
}

func TestTransmit(t *testing.T) {
	m, g, _ := mustSetup(t)
	for i := 0; i < 3*TxRingSize; i++ { // wraps the ring three times
		f := frame(14+i*13%1500, byte(i))
		require.NoError(t, g.Transmit(f))
		require.Equal(t, f, m.last)
	}
	require.Equal(t, 3*TxRingSize, m.sent)
	require.ErrorIs(t, g.Transmit(make([]byte, 13)), ErrFrameSize)
	require.ErrorIs(t, g.Transmit(make([]byte, 1515)), ErrFrameSize)
	require.Equal(t, uint64(3*TxRingSize), g.Stats().Transmitted)
}

// TestTransmitFullThenReclaim stops the device, fills the ring, and checks
// that Transmit refuses until the device has sent, then reclaims without
// an interrupt.
func TestTransmitFullThenReclaim(t *testing.T) {
	m, g, _ := mustSetup(t)
	m.consume = false
	for i := 0; i < TxRingSize-1; i++ {
		require.NoError(t, g.Transmit(frame(60, byte(i))))
	}
	require.ErrorIs(t, g.Transmit(frame(60, 0)), ErrTxFull)
	require.Equal(t, uint64(1), g.Stats().TxFull)
	require.Zero(t, m.sent)
	m.consume, m.txError = true, true
	m.runTx()
	require.Equal(t, TxRingSize-1, m.sent)
	require.NoError(t, g.Transmit(frame(70, 1)))
	require.Equal(t, TxRingSize, m.sent)
	require.Equal(t, frame(70, 1), m.last)
	require.Equal(t, uint64(TxRingSize-1), g.Stats().TxErrors)
}

func TestLinkInterrupt(t *testing.T) {
	m, g, _ := mustSetup(t)
	m.Set(base+regPHYIFStatus, phyifLNKSTS|phyifLNKMOD|2<<phyifSpeedShift)
	m.macInt = macIntRGSMIIIS
	g.Interrupt()
	require.Equal(t, Link{Up: true, Speed: 1000, FullDuplex: true}, g.Link())
	require.Zero(t, m.macInt, "link interrupt not acknowledged")
	// Link down.
	m.Set(base+regPHYIFStatus, 0)
	m.macInt = macIntRGSMIIIS
	m.status = statusFBE | statusAIS
	g.Interrupt()
	require.False(t, g.Link().Up)
	require.Equal(t, "link down", g.Link().String())
	require.Zero(t, m.status)
	s := g.Stats()
	require.Equal(t, uint64(2), s.LinkChanges)
	require.Equal(t, uint64(1), s.BusErrors)
	// No link interrupt pending: the link stays as it was.
	g.Interrupt()
	require.Equal(t, uint64(2), g.Stats().LinkChanges)
}

func TestSetLink(t *testing.T) {
	m, g, p := mustSetup(t)
	for _, tc := range []struct {
		l    Link
		bits uint64
	}{
		{Link{Up: true, Speed: 100, FullDuplex: true}, macConfigPS | macConfigFES | macConfigDM},
		{Link{Up: true, Speed: 10, FullDuplex: false}, macConfigPS},
		{Link{Up: true, Speed: 1000, FullDuplex: true}, macConfigDM},
	} {
		require.NoError(t, g.SetLink(tc.l))
		c := m.reg(regMACConfig)
		require.Equal(t, tc.bits, c&(macConfigPS|macConfigFES|macConfigDM), tc.l.String())
		require.Equal(t, uint64(macConfigTE|macConfigRE|macConfigCST|macConfigACS), c&(macConfigTE|macConfigRE|macConfigCST|macConfigACS))
		require.Equal(t, tc.l, g.Link())
	}
	require.Equal(t, []int{1000, 100, 10, 1000}, p.speeds)
	require.Error(t, g.SetLink(Link{Up: true, Speed: 2500}))
	require.Equal(t, "link up 100 Mbit/s half duplex", Link{Up: true, Speed: 100}.String())
}

func TestMDIO(t *testing.T) {
	m, g, _ := mustSetup(t)
	mdio := g.MDIO()
	m.phyRegs[[2]int{0, 2}] = 0x4f51
	v, err := mdio.Read(0, 2)
	require.NoError(t, err)
	require.Equal(t, uint16(0x4f51), v)
	require.NoError(t, mdio.Write(3, 0x1e, 0xa003))
	require.Equal(t, uint16(0xa003), m.phyRegs[[2]int{3, 0x1e}])
	_, err = mdio.Read(32, 0)
	require.ErrorContains(t, err, "out of range")

	m.mdioBusyForever = true
	g.polls = 20
	_, err = mdio.Read(0, 1)
	require.ErrorContains(t, err, "busy bit still set after 20 polls")
	require.Error(t, mdio.Write(0, 0, 0))
}

func TestNoAllocation(t *testing.T) {
	m, g, _ := mustSetup(t)
	f := frame(1000, 5)
	m.Log = make([]mmiotest.Access, 0, 1<<20)
	allocs := testing.AllocsPerRun(1000, func() {
		if !m.deliver(f, 0) {
			t.Fatal("no room")
		}
		g.Interrupt()
		got := g.Receive()
		if !bytes.Equal(got, f) {
			t.Fatal("wrong frame")
		}
		g.Release()
		if err := g.Transmit(f); err != nil {
			t.Fatal(err)
		}
		if len(m.Log) > 1<<19 {
			m.Log = m.Log[:0]
		}
	})
	require.Zero(t, allocs)
}
