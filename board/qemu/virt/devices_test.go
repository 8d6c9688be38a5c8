package virt

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/dma"
	"github.com/exo-os/exo/board/driver/plic"
	"github.com/exo-os/exo/board/driver/virtio"
	"github.com/exo-os/exo/board/mmio/mmiotest"
)

// The shared drivers, configured by this package's constructors, against
// register models that only accept QEMU virt's geometry (the VisionFive 2's
// counterpart is board/starfive/jh7110's jh7110_test.go).

func TestUARTGeometry(t *testing.T) {
	m := mmiotest.New(true)
	for r := uintptr(0); r < 8; r++ {
		m.Reg(UART0Base+r, 1, 0) // byte registers, one byte apart
	}
	m.Set(UART0Base+5, 1<<5)
	var tx []byte
	m.OnWrite[UART0Base] = func(v uint64) { tx = append(tx, byte(v)) }
	require.NoError(t, UART(m).Init())
	_, err := UART(m).Write([]byte("ok\n"))
	require.NoError(t, err)
	require.Equal(t, "ok\r\n", string(tx))
	require.NoError(t, m.Err())
}

func TestCLINTTimebase(t *testing.T) {
	m := mmiotest.New(true)
	m.Reg(CLINTBase, 4, 0)
	m.Reg(CLINTBase+0x4000, 8, 0)
	m.Reg(CLINTBase+0xbff8, 8, 10_000_000)
	c := CLINT(m)
	require.NoError(t, c.Validate())
	require.Equal(t, int64(1e9), c.Nanotime(), "10 MHz")
	c.SetCompare(0, 7)
	require.Equal(t, uint64(7), m.Get(CLINTBase+0x4000))
	require.NoError(t, m.Err())
}

func TestPLICContexts(t *testing.T) {
	p := PLIC(mmiotest.New(false))
	ctx, err := p.Context(0, plic.Machine)
	require.NoError(t, err)
	require.Equal(t, 0, ctx)
	ctx, err = p.Context(0, plic.Supervisor)
	require.NoError(t, err)
	require.Equal(t, 1, ctx)
	require.NoError(t, p.SetPriority(96, 1), "riscv,ndev = 96: source 96 exists")
	require.Error(t, p.SetPriority(97, 1))
}

// netSlot makes the virtio-mmio slot at base of model m a network device
// of the given version, enough for setup: 32-bit transport registers,
// per-queue state latched at QueueReady, a byte-wide MAC.
func netSlot(m *mmiotest.Model, base uintptr, version uint32, queueMax uint32, mac [6]byte) {
	const (
		magic, ver, id, devFeat, devSel, drvFeat, drvSel = 0x000, 0x004, 0x008, 0x010, 0x014, 0x020, 0x024
		qSel, qMax, qNum, qReady, notify, isr, ack, st   = 0x030, 0x034, 0x038, 0x044, 0x050, 0x060, 0x064, 0x070
		gen, config                                      = 0x0fc, 0x100
	)
	for _, r := range []uintptr{magic, ver, id, devFeat, devSel, drvFeat, drvSel, qSel, qMax, qNum, qReady,
		notify, isr, ack, st, gen, 0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4} {
		m.Reg(base+r, 4, 0)
	}
	m.Set(base+magic, virtio.Magic)
	m.Set(base+ver, uint64(version))
	m.Set(base+id, virtio.TypeNet)
	for i, b := range mac {
		m.Reg(base+config+uintptr(i), 1, uint64(b))
	}
	m.OnRead[base+devFeat] = func() uint64 {
		return (virtio.FeatureVersion1 | 1<<5) >> (32 * m.Get(base+devSel)) & 0xffffffff
	}
	var ready [2]bool
	m.OnRead[base+qMax] = func() uint64 {
		if m.Get(base+qSel) < 2 {
			return uint64(queueMax)
		}
		return 0
	}
	m.OnRead[base+qReady] = func() uint64 {
		if s := m.Get(base + qSel); s < 2 && ready[s] {
			return 1
		}
		return 0
	}
	m.OnWrite[base+qReady] = func(v uint64) {
		if s := m.Get(base + qSel); s < 2 {
			ready[s] = v == 1
		}
	}
}

// pageMem returns n bytes of host memory starting on a page boundary, as
// the DMA region does.
func pageMem(n int) []byte {
	b := make([]byte, n+dma.MaxAlign)
	off := (dma.MaxAlign - uintptr(unsafe.Pointer(&b[0]))%dma.MaxAlign) % dma.MaxAlign
	return b[off : off+uintptr(n)]
}

func TestNIC(t *testing.T) {
	l, err := Layout(1 << 30)
	require.NoError(t, err)
	mac := [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	last := uintptr(VirtioBase + (VirtioSlots-1)*VirtioStride) // QEMU fills the slots from the last
	for _, tc := range []struct {
		name    string
		slot    uintptr // 0: none
		version uint32
		max     uint32
		irq     uint32
		err     string
	}{
		{name: "absent"},
		{name: "last slot", slot: last, version: 2, max: 1024, irq: 8},
		{name: "first slot", slot: VirtioBase, version: 2, max: 1024, irq: 1},
		{name: "legacy", slot: last, version: 1, max: 1024, err: "qemu-virt: network device: virtio: legacy"},
		{name: "small queues", slot: last, version: 2, max: 16, err: "qemu-virt: virtio-net: virtio: queue 0 of device at 0x10008000 holds at most 16 entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mmiotest.New(false)
			if tc.slot != 0 {
				netSlot(m, tc.slot, tc.version, tc.max, mac)
			}
			mem := pageMem(int(l.DMAEnd - l.DMAStart))
			alloc, err := dma.New(l.DMAStart, l.DMAEnd, mem)
			require.NoError(t, err)
			n, dev, err := NIC(m, alloc)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.Nil(t, n)
				return
			}
			require.NoError(t, err)
			require.NoError(t, m.Err(), "access widths")
			if tc.slot == 0 {
				require.Nil(t, n, "networking is optional")
				return
			}
			require.NotNil(t, n)
			require.Equal(t, mac, n.MAC())
			require.Equal(t, "virtio-net", dev.Name)
			require.Equal(t, tc.irq, dev.IRQ)
			require.NotNil(t, dev.Handle)
			bufs := (virtio.NetRxQueueSize + virtio.NetTxQueueSize) * virtio.NetBufSize
			require.LessOrEqual(t, alloc.Remaining(), int(l.DMAEnd-l.DMAStart)-bufs, "buffers taken from the DMA region")
			require.Greater(t, alloc.Remaining(), 0, "with room to spare")
		})
	}
}
