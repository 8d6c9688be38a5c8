package virtio

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/mmio/mmiotest"
)

const (
	devBase = 0x10008000
	memPA   = 0x84000000
)

// device models a virtio-mmio entropy device: its registers, feature
// negotiation, and on a notify, the processing of offered buffers in the
// driver's memory (mem, which the device sees at memPA).
type device struct {
	*mmiotest.Model
	mem      []byte
	features uint64
	sel      map[uintptr]uint32
	desc     uint64
	avail    uint64
	used     uint64
	num      uint32
	lastSeen uint16
	fill     byte
	short    uint32 // if set, bytes written per request
}

func newDevice(t *testing.T, version uint32, features uint64, mem []byte) *device {
	d := &device{Model: mmiotest.New(false), mem: mem, features: features, sel: map[uintptr]uint32{}}
	d.Set(devBase+regMagic, Magic)
	d.Set(devBase+regVersion, uint64(version))
	d.Set(devBase+regDeviceID, TypeEntropy)
	d.Set(devBase+regQueueNumMax, 8)
	d.OnRead[devBase+regDeviceFeatures] = func() uint64 {
		return d.features >> (32 * d.Get(devBase+regDeviceFeatSel)) & 0xffffffff
	}
	d.OnWrite[devBase+regQueueNotify] = func(uint64) { d.process(t) }
	return d
}

func (d *device) at(pa uint64, n int) []byte {
	off := pa - memPA
	return d.mem[off : off+uint64(n)]
}

func (d *device) addr(lo uintptr) uint64 {
	return d.Get(devBase+lo) | d.Get(devBase+lo+4)<<32
}

func (d *device) process(t *testing.T) {
	num := uint16(d.Get(devBase + regQueueNum))
	avail, used, desc := d.addr(regQueueDriverLo), d.addr(regQueueDeviceLo), d.addr(regQueueDescLo)
	idx := binary.LittleEndian.Uint16(d.at(avail+2, 2))
	for d.lastSeen != idx {
		head := binary.LittleEndian.Uint16(d.at(avail+4+2*uint64(d.lastSeen%num), 2))
		dd := d.at(desc+16*uint64(head), 16)
		pa, n, flags := binary.LittleEndian.Uint64(dd), binary.LittleEndian.Uint32(dd[8:]), binary.LittleEndian.Uint16(dd[12:])
		require.Equal(t, uint16(DescWrite), flags, "the entropy buffer must be device-writable")
		if d.short != 0 {
			n = d.short
		}
		for i := range d.at(pa, int(n)) {
			d.fill++
			d.at(pa, int(n))[i] = d.fill
		}
		uidx := binary.LittleEndian.Uint16(d.at(used+2, 2))
		e := d.at(used+4+8*uint64(uidx%num), 8)
		binary.LittleEndian.PutUint32(e, uint32(head))
		binary.LittleEndian.PutUint32(e[4:], n)
		binary.LittleEndian.PutUint16(d.at(used+2, 2), uidx+1)
		d.lastSeen++
	}
}

func alignedMem(n int) []byte {
	b := make([]byte, n+16)
	off := (16 - uintptr(unsafe.Pointer(&b[0]))%16) % 16
	return b[off : off+uintptr(n)]
}

func TestEntropy(t *testing.T) {
	mem := alignedMem(EntropyBytes)
	d := newDevice(t, 2, FeatureVersion1|1<<5, mem)
	e, err := NewEntropy(&Device{Bus: d, Base: devBase}, mem, memPA)
	require.NoError(t, err)
	require.Equal(t, uint64(statusAcknowledge|statusDriver|statusFeaturesOK|statusDriverOK), d.Get(devBase+regStatus))
	require.Equal(t, []uint64{0, 1}, d.Writes(devBase + regStatus)[:2], "reset, then acknowledge")
	require.Equal(t, uint64(1), d.Get(devBase+regQueueNum))
	require.Equal(t, uint64(1), d.Get(devBase+regQueueReady))
	require.Equal(t, []uint64{0, 1}, d.Writes(devBase+regDriverFeatures), "only VERSION_1 is accepted: bit 5 is not wanted")

	b := make([]byte, 150) // more than one request's worth
	require.NoError(t, e.Read(b))
	for i := range b {
		require.Equal(t, byte(i+1), b[i], "byte %d", i)
	}
	// 150 bytes took three 64-byte answers; the 42 left over are handed
	// out next, each once.
	c := make([]byte, 7)
	require.NoError(t, e.Read(c))
	require.Equal(t, []byte{151, 152, 153, 154, 155, 156, 157}, c)
	require.NoError(t, e.Read(make([]byte, 35)))
	d.short = 3
	require.NoError(t, e.Read(c))
	require.Equal(t, []byte{193, 194, 195, 196, 197, 198, 199}, c, "short answers are collected until the buffer is full")
	require.Equal(t, make([]byte, 7), e.buf[:7], "bytes handed out are wiped")
}

// TryRead never waits: with nothing delivered it asks the device and
// returns 0; the device's interrupt collects the answer.
func TestEntropyTryRead(t *testing.T) {
	mem := alignedMem(EntropyBytes)
	d := newDevice(t, 2, FeatureVersion1, mem)
	e, err := NewEntropy(&Device{Bus: d, Base: devBase}, mem, memPA)
	require.NoError(t, err)
	// A device that answers later: hold notifies back.
	var held bool
	d.OnWrite[devBase+regQueueNotify] = func(uint64) { held = true }
	b := make([]byte, 100)
	require.Zero(t, e.TryRead(b), "nothing delivered yet")
	require.True(t, held, "it asked")
	held = false
	require.Zero(t, e.TryRead(b), "still nothing")
	require.False(t, held, "one request at a time")
	d.process(t)
	e.Interrupt()
	require.Equal(t, 64, e.TryRead(b), "a whole answer")
	require.Equal(t, byte(1), b[0])
	require.True(t, held, "the pool empty, it asks again")
}

func TestInitRejects(t *testing.T) {
	mem := alignedMem(EntropyBytes)
	_, err := NewEntropy(&Device{Bus: newDevice(t, 1, FeatureVersion1, mem), Base: devBase}, mem, memPA)
	require.ErrorIs(t, err, ErrLegacy)
	_, err = NewEntropy(&Device{Bus: newDevice(t, 2, 0, mem), Base: devBase}, mem, memPA)
	require.ErrorContains(t, err, "does not offer VIRTIO_F_VERSION_1")
	empty := mmiotest.New(false)
	_, err = NewEntropy(&Device{Bus: empty, Base: devBase}, mem, memPA)
	require.ErrorContains(t, err, "type 0, not an entropy source")
	d := newDevice(t, 2, FeatureVersion1, mem)
	_, err = NewEntropy(&Device{Bus: d, Base: devBase}, mem[:100], memPA)
	require.ErrorContains(t, err, "needs 256 bytes")
}

func TestNewQueueRejects(t *testing.T) {
	mem := alignedMem(4096)
	_, err := NewQueue(mem, memPA, 3)
	require.ErrorContains(t, err, "not a power of two")
	_, err = NewQueue(mem, memPA+8, 4)
	require.ErrorContains(t, err, "not 16-byte aligned")
	_, err = NewQueue(mem[:10], memPA, 4)
	require.ErrorContains(t, err, "needs")
}

func TestQueueWraps(t *testing.T) {
	mem := alignedMem(QueueBytes(2))
	q, err := NewQueue(mem, memPA, 2)
	require.NoError(t, err)
	for i := 0; i < 70000; i++ { // past the 16-bit index wrap
		q.Offer(uint16(i % 2))
		// play the device: move the offered head to the used ring
		ai := binary.LittleEndian.Uint16(mem[q.availOff+2:])
		head := binary.LittleEndian.Uint16(mem[q.availOff+4+2*int((ai-1)%2):])
		ui := binary.LittleEndian.Uint16(mem[q.usedOff+2:])
		binary.LittleEndian.PutUint32(mem[q.usedOff+4+8*int(ui%2):], uint32(head))
		binary.LittleEndian.PutUint32(mem[q.usedOff+8+8*int(ui%2):], uint32(i))
		binary.LittleEndian.PutUint16(mem[q.usedOff+2:], ui+1)
		h, n, ok := q.Used()
		require.True(t, ok)
		require.Equal(t, uint32(i%2), h)
		require.Equal(t, uint32(i), n)
		_, _, ok = q.Used()
		require.False(t, ok)
	}
}

func TestProbe(t *testing.T) {
	m := mmiotest.New(false)
	bases := []uintptr{0x10001000, 0x10002000, 0x10003000}
	m.Set(0x10002000+regMagic, Magic)
	m.Set(0x10002000+regDeviceID, TypeNet)
	m.Set(0x10002000+regVersion, 2)
	m.Set(0x10003000+regMagic, Magic)
	m.Set(0x10003000+regDeviceID, TypeEntropy)
	m.Set(0x10003000+regVersion, 1)
	_, err := Probe(m, bases, TypeEntropy)
	require.ErrorIs(t, err, ErrLegacy)
	m.Set(0x10003000+regVersion, 2)
	b, err := Probe(m, bases, TypeEntropy)
	require.NoError(t, err)
	require.Equal(t, uintptr(0x10003000), b)
	_, err = Probe(m, bases[:2], TypeEntropy)
	require.ErrorIs(t, err, ErrNoDevice)
	require.ErrorContains(t, err, "none of type 4 in 2 slots")
}
