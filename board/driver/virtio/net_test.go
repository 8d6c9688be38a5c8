package virtio

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board"
	"github.com/exo-os/exo/board/dma"
	"github.com/exo-os/exo/board/mmio/mmiotest"
)

// Network feature bits the model offers and the driver must refuse
// (§5.1.3, §6).
const (
	fCSUM         = 1 << 0
	fGuestCSUM    = 1 << 1
	fGuestTSO4    = 1 << 7
	fGuestTSO6    = 1 << 8
	fGuestUFO     = 1 << 10
	fHostTSO4     = 1 << 11
	fMrgRxbuf     = 1 << 15
	fStatus       = 1 << 16
	fCtrlVQ       = 1 << 17
	fIndirectDesc = 1 << 28
	fEventIdx     = 1 << 29
	// qemuFeatures is roughly what QEMU 7.2's virtio-net offers.
	qemuFeatures = FeatureVersion1 | netFeatureMAC | fCSUM | fGuestCSUM | fGuestTSO4 | fGuestTSO6 |
		fGuestUFO | fHostTSO4 | fMrgRxbuf | fStatus | fCtrlVQ | fIndirectDesc | fEventIdx
)

var testMAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

// devQueue is the device's side of one virtqueue: what QueueReady latched,
// and how far the device has got.
type devQueue struct {
	ready             bool
	num               uint16
	desc, avail, used uint64
	lastAvail         uint16 // next available-ring entry to take
	usedIdx           uint16 // next used-ring entry to fill
}

// netDevice models a virtio-net device behind QEMU 7.2's modern virtio-mmio
// transport: registers with the access widths the spec requires (32-bit
// transport registers, byte-wide MAC), per-queue state latched at
// QueueReady, and the device side of the two queues in the driver's memory
// (mem, which it sees at memPA). Its checks report with t.Errorf instead
// of require, so that running them allocates nothing.
type netDevice struct {
	*mmiotest.Model
	t        *testing.T
	mem      []byte
	features uint64
	accepted [2]uint32 // driver feature words
	numMax   [2]uint32
	q        [2]devQueue

	// Receive side: frames waiting for a buffer; with dropFull, a frame
	// that finds none is dropped (counted in dropped) instead.
	pending  [][]byte
	dropFull bool
	dropped  int

	// Transmit side: with consume, the device takes frames on notify.
	// It counts them in sent, keeps the last in last, every one in kept
	// if keep is set, and the descriptor ids in heads.
	consume bool
	keep    bool
	sent    int
	last    []byte
	kept    [][]byte
	heads   []uint16
}

func newNetDevice(t *testing.T, version uint32, features uint64, mem []byte) *netDevice {
	d := &netDevice{Model: mmiotest.New(true), t: t, mem: mem, features: features, numMax: [2]uint32{1024, 1024}}
	for _, r := range []struct {
		off uintptr
		v   uint64
	}{
		{regMagic, Magic}, {regVersion, uint64(version)}, {regDeviceID, TypeNet},
		{regDeviceFeatures, 0}, {regDeviceFeatSel, 0}, {regDriverFeatures, 0}, {regDriverFeatSel, 0},
		{regQueueSel, 0}, {regQueueNumMax, 0}, {regQueueNum, 0}, {regQueueReady, 0}, {regQueueNotify, 0},
		{regInterruptStat, 0}, {regInterruptACK, 0}, {regStatus, 0}, {regConfigGen, 0},
		{regQueueDescLo, 0}, {regQueueDescHi, 0}, {regQueueDriverLo, 0}, {regQueueDriverHi, 0},
		{regQueueDeviceLo, 0}, {regQueueDeviceHi, 0},
	} {
		d.Reg(devBase+r.off, 4, r.v)
	}
	for i, b := range testMAC {
		d.Reg(devBase+regConfig+uintptr(i), 1, uint64(b)) // §4.2.2: config accesses of the field's width
	}
	sel := func() uint32 { return uint32(d.Get(devBase + regQueueSel)) }
	d.OnRead[devBase+regDeviceFeatures] = func() uint64 {
		return d.features >> (32 * d.Get(devBase+regDeviceFeatSel)) & 0xffffffff
	}
	d.OnWrite[devBase+regDriverFeatures] = func(v uint64) {
		if s := d.Get(devBase + regDriverFeatSel); s < 2 {
			d.accepted[s] = uint32(v)
		}
	}
	d.OnWrite[devBase+regStatus] = func(v uint64) {
		if v == 0 { // reset (§4.2.2)
			d.q = [2]devQueue{}
			d.Set(devBase+regInterruptStat, 0)
		}
		acc := uint64(d.accepted[0]) | uint64(d.accepted[1])<<32
		if v&statusFeaturesOK != 0 && acc&^d.features != 0 {
			d.Set(devBase+regStatus, v&^statusFeaturesOK) // accepted what was not offered
		}
	}
	d.OnRead[devBase+regQueueNumMax] = func() uint64 {
		if s := sel(); s < 2 {
			return uint64(d.numMax[s])
		}
		return 0
	}
	d.OnRead[devBase+regQueueReady] = func() uint64 {
		if s := sel(); s < 2 && d.q[s].ready {
			return 1
		}
		return 0
	}
	d.OnWrite[devBase+regQueueReady] = func(v uint64) {
		s := sel()
		if s >= 2 || v != 1 {
			return
		}
		d.q[s] = devQueue{ready: true, num: uint16(d.Get(devBase + regQueueNum)),
			desc: d.addr(regQueueDescLo), avail: d.addr(regQueueDriverLo), used: d.addr(regQueueDeviceLo)}
	}
	d.OnWrite[devBase+regInterruptACK] = func(v uint64) {
		d.Set(devBase+regInterruptStat, d.Get(devBase+regInterruptStat)&^v)
	}
	d.OnWrite[devBase+regQueueNotify] = func(v uint64) {
		if d.Get(devBase+regStatus)&statusDriverOK == 0 {
			t.Errorf("notify of queue %d before DRIVER_OK (§3.1.1)", v)
		}
		switch {
		case v == netRxQueue:
			d.deliver()
		case v == netTxQueue && d.consume:
			d.consumeTX()
		}
	}
	return d
}

func (d *netDevice) addr(lo uintptr) uint64 {
	return d.Get(devBase+lo) | d.Get(devBase+lo+4)<<32
}

// at is the device's view of n bytes of driver memory at pa.
func (d *netDevice) at(pa uint64, n int) []byte {
	if pa < memPA || pa-memPA+uint64(n) > uint64(len(d.mem)) {
		d.t.Fatalf("device access to [%#x, +%d) outside driver memory", pa, n)
	}
	return d.mem[pa-memPA : pa-memPA+uint64(n)]
}

func (d *netDevice) availIdx(q int) uint16 {
	return binary.LittleEndian.Uint16(d.at(d.q[q].avail+2, 2))
}

func (d *netDevice) availFlags(q int) uint16 {
	return binary.LittleEndian.Uint16(d.at(d.q[q].avail, 2))
}

// take pops the next available chain of queue q: its head and the
// descriptor's buffer.
func (d *netDevice) take(q int) (head uint16, pa uint64, n uint32, flags uint16, ok bool) {
	dq := &d.q[q]
	if dq.lastAvail == d.availIdx(q) {
		return 0, 0, 0, 0, false
	}
	head = binary.LittleEndian.Uint16(d.at(dq.avail+4+2*uint64(dq.lastAvail%dq.num), 2))
	dq.lastAvail++
	if head >= dq.num {
		d.t.Errorf("queue %d: available head %d out of range", q, head)
		return 0, 0, 0, 0, false
	}
	e := d.at(dq.desc+16*uint64(head), 16)
	return head, binary.LittleEndian.Uint64(e), binary.LittleEndian.Uint32(e[8:]), binary.LittleEndian.Uint16(e[12:]), true
}

// putUsed appends (id, n) to queue q's used ring, and raises the used
// buffer interrupt unless the driver asked for none.
func (d *netDevice) putUsed(q int, id, n uint32) {
	dq := &d.q[q]
	e := d.at(dq.used+4+8*uint64(dq.usedIdx%dq.num), 8)
	binary.LittleEndian.PutUint32(e, id)
	binary.LittleEndian.PutUint32(e[4:], n)
	dq.usedIdx++
	binary.LittleEndian.PutUint16(d.at(dq.used+2, 2), dq.usedIdx)
	if d.availFlags(q)&availNoInterrupt == 0 {
		d.Set(devBase+regInterruptStat, d.Get(devBase+regInterruptStat)|1)
	}
}

// inject has a frame arrive from the network.
func (d *netDevice) inject(frames ...[]byte) {
	d.pending = append(d.pending, frames...)
	d.deliver()
}

// deliver puts waiting frames into posted receive buffers: a 12-byte
// header (num_buffers 1, §5.1.6.4) and the frame.
func (d *netDevice) deliver() {
	for len(d.pending) > 0 {
		head, pa, n, flags, ok := d.take(netRxQueue)
		if !ok {
			if d.dropFull {
				d.dropped += len(d.pending)
				d.pending = d.pending[:0]
			}
			return
		}
		f := d.pending[0]
		d.pending = d.pending[1:]
		if flags != DescWrite || n < NetHeaderLen+board.MaxFrame {
			d.t.Errorf("receive descriptor %d: flags %#x, %d bytes", head, flags, n)
			continue
		}
		buf := d.at(pa, int(n))
		clear(buf[:NetHeaderLen])
		buf[10] = 1
		copy(buf[NetHeaderLen:], f)
		d.putUsed(netRxQueue, uint32(head), uint32(NetHeaderLen+len(f)))
	}
}

// consumeTX sends every frame offered on the transmit queue.
func (d *netDevice) consumeTX() {
	for {
		head, pa, n, flags, ok := d.take(netTxQueue)
		if !ok {
			return
		}
		if flags != 0 || n < NetHeaderLen || n > NetBufSize {
			d.t.Errorf("transmit descriptor %d: flags %#x, %d bytes", head, flags, n)
			continue
		}
		buf := d.at(pa, int(n))
		for i, b := range buf[:NetHeaderLen] {
			if b != 0 {
				d.t.Errorf("transmit header byte %d is %#x, not 0", i, b)
			}
		}
		d.last = append(d.last[:0], buf[NetHeaderLen:]...)
		if d.keep {
			d.kept = append(d.kept, append([]byte(nil), d.last...))
			d.heads = append(d.heads, head)
		}
		d.sent++
		d.putUsed(netTxQueue, uint32(head), 0)
	}
}

// pageMem returns n bytes of host memory starting on a page boundary, as
// the board's DMA region does.
func pageMem(n int) []byte {
	b := make([]byte, n+dma.MaxAlign)
	off := (dma.MaxAlign - uintptr(unsafe.Pointer(&b[0]))%dma.MaxAlign) % dma.MaxAlign
	return b[off : off+uintptr(n)]
}

const netMem = 512 << 10

// setupNet returns a driver set up on a fresh model offering features.
func setupNet(t *testing.T, features uint64) (*netDevice, *Net, *Device) {
	t.Helper()
	mem := pageMem(netMem)
	d := newNetDevice(t, 2, features, mem)
	alloc, err := dma.New(memPA, memPA+netMem, mem)
	require.NoError(t, err)
	dev := &Device{Bus: d, Base: devBase}
	n, err := NewNet(dev, alloc)
	require.NoError(t, err)
	require.NoError(t, d.Err())
	return d, n, dev
}

// frame returns an Ethernet frame of length bytes carrying seq (cut
// short, for lengths below a header).
func frame(length int, seq uint32) []byte {
	f := make([]byte, max(length, 18))
	copy(f, testMAC[:])
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	for i := 18; i < len(f); i++ {
		f[i] = byte(seq) + byte(i)
	}
	binary.LittleEndian.PutUint32(f[14:], seq)
	return f[:length]
}

// rxHeld checks that no receive buffer is lost: each is with the device
// or held by the kernel.
func rxHeld(t *testing.T, n *Net) {
	t.Helper()
	c := 0
	for _, p := range n.rxPosted {
		if p {
			c++
		}
	}
	if n.held >= 0 {
		require.False(t, n.rxPosted[n.held], "the held buffer is not with the device")
		c++
	}
	require.Equal(t, NetRxQueueSize, c, "every receive buffer is with the device or held")
}

func TestNetSetup(t *testing.T) {
	d, n, _ := setupNet(t, qemuFeatures)
	require.Equal(t, testMAC, n.MAC())
	require.Equal(t, uint64(statusAcknowledge|statusDriver|statusFeaturesOK|statusDriverOK), d.Get(devBase+regStatus))
	require.Equal(t, [2]uint32{netFeatureMAC, 1}, d.accepted, "MAC and VERSION_1 only: no TSO, UFO, MRG_RXBUF, CSUM")
	require.Equal(t, uint16(NetRxQueueSize), d.q[0].num)
	require.Equal(t, uint16(NetTxQueueSize), d.q[1].num)
	require.Equal(t, uint16(NetRxQueueSize), d.availIdx(0), "the receive queue is full")
	require.Equal(t, uint16(0), d.availFlags(0), "receive interrupts wanted")
	require.Equal(t, uint16(availNoInterrupt), d.availFlags(1), "no transmit interrupts")
	for _, a := range d.Log {
		if a.Addr >= devBase+regConfig {
			require.Equal(t, 1, a.Width, "config space read with byte accesses: %v", a)
		}
	}
	rxHeld(t, n)
}

func TestNetSetupRejects(t *testing.T) {
	for _, tc := range []struct {
		name     string
		version  uint32
		features uint64
		setup    func(d *netDevice)
		mem      int
		err      string
		legacy   bool
		failed   bool // FAILED set in the status
	}{
		{name: "legacy", version: 1, features: qemuFeatures, legacy: true, err: "virtio-net at 0x10008000: virtio: legacy"},
		{name: "no VERSION_1", version: 2, features: netFeatureMAC, err: "does not offer VIRTIO_F_VERSION_1", failed: true},
		{name: "no MAC", version: 2, features: FeatureVersion1 | fMrgRxbuf, err: "virtio-net at 0x10008000: device offers no MAC address", failed: true},
		{name: "not a network device", version: 2, features: qemuFeatures, setup: func(d *netDevice) { d.Set(devBase+regDeviceID, TypeEntropy) }, err: "device is type 4, not a network device"},
		{name: "nothing there", version: 2, features: qemuFeatures, setup: func(d *netDevice) { d.Set(devBase+regMagic, 0) }, err: "device is type 0"},
		{name: "small receive queue", version: 2, features: qemuFeatures, setup: func(d *netDevice) { d.numMax[0] = 64 }, err: "queue 0 of device at 0x10008000 holds at most 64 entries, not 128", failed: true},
		{name: "small transmit queue", version: 2, features: qemuFeatures, setup: func(d *netDevice) { d.numMax[1] = 32 }, err: "queue 1 of device at 0x10008000 holds at most 32 entries, not 64", failed: true},
		{name: "no transmit queue", version: 2, features: qemuFeatures, setup: func(d *netDevice) { d.numMax[1] = 0 }, err: "has no queue 1", failed: true},
		{name: "configuration never settles", version: 2, features: qemuFeatures, setup: func(d *netDevice) {
			g := uint64(0)
			d.OnRead[devBase+regConfigGen] = func() uint64 { g++; return g }
		}, err: "configuration of device at 0x10008000 kept changing", failed: true},
		{name: "little DMA memory", version: 2, features: qemuFeatures, mem: 64 << 10, err: "virtio-net at 0x10008000: receive buffers: dma: 262144 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := pageMem(netMem)
			d := newNetDevice(t, tc.version, tc.features, mem)
			if tc.setup != nil {
				tc.setup(d)
			}
			if tc.mem == 0 {
				tc.mem = netMem
			}
			alloc, err := dma.New(memPA, memPA+uint64(tc.mem), mem[:tc.mem])
			require.NoError(t, err)
			_, err = NewNet(&Device{Bus: d, Base: devBase}, alloc)
			require.ErrorContains(t, err, tc.err)
			if tc.legacy {
				require.ErrorIs(t, err, ErrLegacy)
			}
			require.Equal(t, tc.failed, d.Get(devBase+regStatus)&statusFailed != 0, "FAILED status")
			if tc.mem < netMem {
				require.Empty(t, d.Writes(devBase+regStatus), "the device is not touched")
			}
		})
	}
}

// A configuration change in the middle of reading the MAC makes the
// driver read it again.
func TestNetConfigGeneration(t *testing.T) {
	mem := pageMem(netMem)
	d := newNetDevice(t, 2, qemuFeatures, mem)
	reads := 0
	d.OnRead[devBase+regConfigGen] = func() uint64 {
		reads++
		if reads >= 2 {
			d.Set(devBase+regConfig+5, uint64(testMAC[5])) // the change is complete
			return 1
		}
		d.Set(devBase+regConfig+5, 0xee)
		return 0
	}
	alloc, err := dma.New(memPA, memPA+netMem, mem)
	require.NoError(t, err)
	n, err := NewNet(&Device{Bus: d, Base: devBase}, alloc)
	require.NoError(t, err)
	require.Equal(t, testMAC, n.MAC())
	require.Equal(t, 4, reads, "two passes")
	require.NoError(t, d.Err())
}

func TestNetTransmitSizes(t *testing.T) {
	d, n, _ := setupNet(t, qemuFeatures)
	d.consume = true
	for _, tc := range []struct {
		length int
		err    error
	}{
		{0, ErrFrameSize}, {board.MinFrame - 1, ErrFrameSize}, {board.MinFrame, nil}, {60, nil},
		{board.MaxFrame, nil}, {board.MaxFrame + 1, ErrFrameSize}, {NetBufSize, ErrFrameSize}, {9000, ErrFrameSize},
	} {
		before, sent := d.availIdx(1), d.sent
		f := frame(tc.length, uint32(tc.length))
		err := n.Transmit(f)
		if tc.err != nil {
			require.ErrorIs(t, err, tc.err, "%d bytes", tc.length)
			require.Equal(t, before, d.availIdx(1), "%d bytes: nothing offered", tc.length)
			continue
		}
		require.NoError(t, err, "%d bytes", tc.length)
		require.Equal(t, sent+1, d.sent)
		require.Equal(t, f, d.last, "%d bytes arrive intact", tc.length)
	}
	require.Equal(t, uint64(3), n.Stats().Transmitted)
}

// A device that does not consume: Transmit fails once every buffer is
// with it, and succeeds again as soon as it has sent one, with no
// interrupt.
func TestNetTransmitFull(t *testing.T) {
	d, n, _ := setupNet(t, qemuFeatures)
	d.keep = true
	for i := range NetTxQueueSize {
		require.NoError(t, n.Transmit(frame(60, uint32(i))))
	}
	require.ErrorIs(t, n.Transmit(frame(60, 99)), ErrTxFull)
	require.ErrorIs(t, n.Transmit(frame(60, 99)), ErrTxFull)
	require.Equal(t, uint64(2), n.Stats().TxFull)
	require.Equal(t, uint16(NetTxQueueSize), d.availIdx(1))
	d.consumeTX()
	require.Zero(t, d.Get(devBase+regInterruptStat), "no transmit interrupt asked for")
	require.NoError(t, n.Transmit(frame(60, 100)))
	d.consumeTX()
	require.Len(t, d.kept, NetTxQueueSize+1)
	for i := range NetTxQueueSize {
		require.Equal(t, frame(60, uint32(i)), d.kept[i], "frame %d", i)
	}
	require.Equal(t, frame(60, 100), d.kept[NetTxQueueSize])
	seen := map[uint16]bool{}
	for _, h := range d.heads[:NetTxQueueSize] {
		require.False(t, seen[h], "descriptor %d offered twice", h)
		seen[h] = true
	}
}

// Used elements for transmit buffers the device does not hold are ignored:
// out of range, free, or reported twice. They never grow the free list,
// so no buffer is offered while the device still has it.
func TestNetTransmitBogusUsed(t *testing.T) {
	d, n, _ := setupNet(t, qemuFeatures)
	for _, id := range []uint32{0, 1, NetTxQueueSize - 1, NetTxQueueSize, 1<<16 + 2, 0xffffffff} {
		d.putUsed(netTxQueue, id, 0) // all free, or not buffers at all
	}
	d.keep = true
	for round := range 2 {
		for i := range NetTxQueueSize {
			require.NoError(t, n.Transmit(frame(60, uint32(i))), "round %d, frame %d", round, i)
		}
		require.ErrorIs(t, n.Transmit(frame(60, 99)), ErrTxFull, "round %d", round)
		d.consumeTX()
		n.Interrupt()               // reclaims: the used ring has room again
		d.putUsed(netTxQueue, 3, 0) // buffer 3 again
		seen := map[uint16]bool{}
		for _, h := range d.heads[round*NetTxQueueSize:] {
			require.False(t, seen[h], "round %d: descriptor %d offered twice", round, h)
			seen[h] = true
		}
		require.Len(t, seen, NetTxQueueSize)
	}
	n.Interrupt()
	require.Equal(t, uint64(6+1+1), n.Stats().BadID)
	require.Equal(t, NetTxQueueSize, n.txFreeN)
}

// More than 65536 frames each way: the 16-bit ring indices wrap.
func TestNetWrap(t *testing.T) {
	const frames = 70000
	d, n, _ := setupNet(t, qemuFeatures)
	// Transmit, the device consuming in bursts of up to 50.
	d.keep = true
	for i := range frames {
		require.NoError(t, n.Transmit(frame(64+i%1400, uint32(i))), "frame %d", i)
		if i%50 == 49 || i == frames-1 {
			d.consumeTX()
		}
	}
	require.Len(t, d.kept, frames)
	for i, f := range d.kept {
		if f0 := frame(64+i%1400, uint32(i)); string(f) != string(f0) {
			require.Equal(t, f0, f, "frame %d", i)
		}
	}
	require.Equal(t, uint16(frames%65536), d.availIdx(1))
	// Receive, the device delivering in bursts larger than the ring.
	for i := 0; i < frames; {
		burst := min(200, frames-i)
		for j := range burst {
			d.inject(frame(60+(i+j)%1400, uint32(i+j)))
		}
		for f := n.Receive(); f != nil; f = n.Receive() {
			if f0 := frame(60+i%1400, uint32(i)); string(f) != string(f0) {
				require.Equal(t, f0, f, "frame %d", i)
			}
			n.Release()
			i++
		}
		require.Empty(t, d.pending)
	}
	require.Equal(t, uint64(frames), n.Stats().Received)
	require.Equal(t, uint16((frames+NetRxQueueSize)%65536), d.availIdx(0), "wrapped")
	rxHeld(t, n)
}

// A device with more frames than the driver has buffers: they wait on
// the device, or it drops them; either way the driver keeps every buffer.
func TestNetReceiveFull(t *testing.T) {
	for _, drop := range []bool{false, true} {
		d, n, _ := setupNet(t, qemuFeatures)
		d.dropFull = drop
		for i := range 300 {
			d.inject(frame(100, uint32(i)))
		}
		if drop {
			require.Equal(t, 300-NetRxQueueSize, d.dropped)
		} else {
			require.Len(t, d.pending, 300-NetRxQueueSize)
		}
		rxHeld(t, n)
		got := 0
		for f := n.Receive(); f != nil; f = n.Receive() {
			require.Equal(t, frame(100, uint32(got)), f)
			require.Nil(t, n.Receive(), "no second frame before Release")
			rxHeld(t, n)
			n.Release()
			got++
		}
		want := 300
		if drop {
			want = NetRxQueueSize
		}
		require.Equal(t, want, got, "dropping %v", drop)
		require.Equal(t, uint16(NetRxQueueSize), d.availIdx(0)-d.q[0].lastAvail, "every buffer back with the device")
		d.inject(frame(100, 7))
		require.Equal(t, frame(100, 7), n.Receive())
		n.Release()
		rxHeld(t, n)
	}
}

// Used lengths that leave no valid frame: dropped, counted, and the
// buffer goes straight back to the device, its descriptor rewritten.
func TestNetReceiveBadLength(t *testing.T) {
	d, n, _ := setupNet(t, qemuFeatures)
	for i, length := range []uint32{0, 1, NetHeaderLen - 1, NetHeaderLen, NetHeaderLen + board.MinFrame - 1,
		NetHeaderLen + board.MaxFrame + 1, NetBufSize, NetBufSize + 1, 1 << 20, 0xffffffff} {
		head, pa, _, _, ok := d.take(netRxQueue)
		require.True(t, ok)
		desc := d.at(d.q[0].desc+16*uint64(head), 16)
		binary.LittleEndian.PutUint64(desc, 0xdead0000) // the device scribbles on the table
		binary.LittleEndian.PutUint32(desc[8:], 1<<20)
		before := d.availIdx(0)
		d.putUsed(netRxQueue, uint32(head), length)
		require.Nil(t, n.Receive(), "length %d", length)
		require.Equal(t, uint64(i+1), n.Stats().BadLength)
		require.Equal(t, before+1, d.availIdx(0), "length %d: reposted", length)
		slot := d.at(d.q[0].avail+4+2*uint64(before%d.q[0].num), 2)
		require.Equal(t, head, binary.LittleEndian.Uint16(slot))
		require.Equal(t, pa, binary.LittleEndian.Uint64(desc), "descriptor rewritten")
		require.Equal(t, uint32(NetBufSize), binary.LittleEndian.Uint32(desc[8:]))
		require.Equal(t, uint16(DescWrite), binary.LittleEndian.Uint16(desc[12:]))
		rxHeld(t, n)
	}
	// Lengths at the bounds arrive.
	for _, length := range []int{board.MinFrame, board.MaxFrame} {
		d.inject(frame(length, 1))
		require.Equal(t, frame(length, 1), n.Receive())
		n.Release()
	}
	require.Equal(t, uint64(2), n.Stats().Received)
	require.Zero(t, n.Stats().BadID)
}

// Used elements naming a buffer the device does not hold are ignored,
// including ids that would alias a valid one if truncated to 16 bits. The
// only receive buffer the device never holds is the one the kernel does,
// and no report hands that out again before Release.
func TestNetReceiveBogusID(t *testing.T) {
	d, n, _ := setupNet(t, qemuFeatures)
	for i, id := range []uint32{NetRxQueueSize, 1 << 16, 1<<16 + 5, 0xffffffff} {
		d.putUsed(netRxQueue, id, NetHeaderLen+60)
		require.Nil(t, n.Receive(), "id %#x", id)
		require.Equal(t, uint64(i+1), n.Stats().BadID, "id %#x", id)
		rxHeld(t, n)
	}
	d.inject(frame(60, 1))
	f := n.Receive()
	require.Equal(t, frame(60, 1), f)
	for range 3 {
		d.putUsed(netRxQueue, uint32(n.held), NetHeaderLen+100)
		require.Nil(t, n.Receive(), "the held buffer is not handed out again")
	}
	require.Equal(t, frame(60, 1), f)
	require.Equal(t, uint64(1), n.Stats().Received)
	rxHeld(t, n)
}

// The interrupt is acknowledged before the rings are read: a frame the
// device delivers while the interrupt is being acknowledged is not lost.
func TestNetInterrupt(t *testing.T) {
	d, n, _ := setupNet(t, qemuFeatures)
	d.inject(frame(60, 1))
	require.Equal(t, uint64(1), d.Get(devBase+regInterruptStat))
	d.OnWrite[devBase+regInterruptACK] = func(v uint64) {
		d.Set(devBase+regInterruptStat, d.Get(devBase+regInterruptStat)&^v)
		d.inject(frame(60, 2)) // arrives right after the acknowledgement
	}
	n.Interrupt()
	require.Equal(t, []uint64{1}, d.Writes(devBase+regInterruptACK))
	for seq := uint32(1); seq <= 2; seq++ {
		require.Equal(t, frame(60, seq), n.Receive())
		n.Release()
	}
	require.Nil(t, n.Receive())
	// Interrupt also reclaims transmit buffers.
	for range NetTxQueueSize {
		require.NoError(t, n.Transmit(frame(60, 0)))
	}
	d.consumeTX()
	n.Interrupt()
	require.Equal(t, NetTxQueueSize, n.txFreeN)
}

// quietBus reaches a model's registers and hooks without logging, so that
// the model allocates nothing per access.
type quietBus struct{ *mmiotest.Model }

func (b quietBus) read(addr uintptr) uint64 {
	if f := b.OnRead[addr]; f != nil {
		return f()
	}
	return b.Get(addr)
}

func (b quietBus) write(addr uintptr, v uint64) {
	b.Set(addr, v)
	if f := b.OnWrite[addr]; f != nil {
		f(v)
	}
}

func (b quietBus) Read8(a uintptr) uint8       { return uint8(b.read(a)) }
func (b quietBus) Write8(a uintptr, v uint8)   { b.write(a, uint64(v)) }
func (b quietBus) Read16(a uintptr) uint16     { return uint16(b.read(a)) }
func (b quietBus) Write16(a uintptr, v uint16) { b.write(a, uint64(v)) }
func (b quietBus) Read32(a uintptr) uint32     { return uint32(b.read(a)) }
func (b quietBus) Write32(a uintptr, v uint32) { b.write(a, uint64(v)) }
func (b quietBus) Read64(a uintptr) uint64     { return b.read(a) }
func (b quietBus) Write64(a uintptr, v uint64) { b.write(a, v) }

func TestNetAllocs(t *testing.T) {
	const runs = 1000
	d, n, dev := setupNet(t, qemuFeatures)
	for i := range runs + 1 + NetRxQueueSize {
		d.pending = append(d.pending, frame(100, uint32(i)))
	}
	d.deliver()
	d.consume = true
	d.last = make([]byte, 0, NetBufSize)
	dev.Bus = quietBus{d.Model}
	f := frame(1000, 5)
	require.Zero(t, testing.AllocsPerRun(runs, func() {
		if n.Receive() == nil {
			t.Error("no frame")
		}
		n.Release()
	}), "Receive and Release")
	require.Zero(t, testing.AllocsPerRun(runs, func() {
		if err := n.Transmit(f); err != nil {
			t.Error(err)
		}
	}), "Transmit")
	require.Zero(t, testing.AllocsPerRun(runs, func() {
		_ = n.Transmit(f[:3])
		n.Interrupt()
		_ = n.Stats()
	}), "errors and Interrupt")
	require.Equal(t, runs+1, d.sent)
}
