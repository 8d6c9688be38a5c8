package uart16550

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/mmio/mmiotest"
)

// newModel declares the 16550 registers at the given spacing and width and
// returns a model whose transmitter is always ready and whose receiver holds
// the bytes in rx.
func newModel(base, stride uintptr, width int, rx []byte) (*mmiotest.Model, *[]byte) {
	m := mmiotest.New(true)
	for r := uintptr(0); r < 8; r++ {
		m.Reg(base+r*stride, width, 0)
	}
	var tx []byte
	lcr := base + regLCR*stride
	data := base + regData*stride
	m.OnRead[base+regLSR*stride] = func() uint64 {
		v := uint64(lsrTHREmpty)
		if len(rx) > 0 {
			v |= lsrDataReady
		}
		return v
	}
	m.OnRead[data] = func() uint64 {
		c := rx[0]
		rx = rx[1:]
		return uint64(c)
	}
	m.OnWrite[data] = func(v uint64) {
		if m.Get(lcr)&lcrDLAB == 0 {
			tx = append(tx, byte(v))
		}
	}
	return m, &tx
}

func TestBoards(t *testing.T) {
	for _, tc := range []struct {
		name   string
		base   uintptr
		stride uintptr
		width  int
		clock  uint32
		baud   uint32
		div    uint64
	}{
		{"qemu-virt", 0x10000000, 1, 1, 0, 0, 0},
		{"visionfive2", 0x10000000, 4, 4, 24000000, 115200, 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, tx := newModel(tc.base, tc.stride, tc.width, []byte("ok"))
			u := &UART{Bus: m, Base: tc.base, Stride: tc.stride, Width: tc.width, ClockHz: tc.clock, Baud: tc.baud}
			require.NoError(t, u.Init())
			_, err := u.Write([]byte("hi\n"))
			require.NoError(t, err)
			require.Equal(t, "hi\r\n", string(*tx))

			c, ok := u.Receive()
			require.True(t, ok)
			require.Equal(t, byte('o'), c)
			c, ok = u.Receive()
			require.True(t, ok)
			require.Equal(t, byte('k'), c)
			_, ok = u.Receive()
			require.False(t, ok)

			require.NoError(t, m.Err(), "every access must use the board's width at a declared register")
			require.Equal(t, uint64(lcr8N1), m.Get(tc.base+regLCR*tc.stride))
			if tc.div != 0 {
				require.Equal(t, []uint64{lcrDLAB, lcr8N1}, m.Writes(tc.base+regLCR*tc.stride))
				require.Contains(t, m.Writes(tc.base+regData*tc.stride), tc.div)
			} else {
				require.Equal(t, []uint64{lcr8N1}, m.Writes(tc.base+regLCR*tc.stride), "no clock given: the divisor must be left alone")
			}
		})
	}
}

func TestWaitsForTransmitter(t *testing.T) {
	m, tx := newModel(0x1000, 1, 1, nil)
	busy := 3
	m.OnRead[0x1000+regLSR] = func() uint64 {
		if busy > 0 {
			busy--
			return 0
		}
		return lsrTHREmpty
	}
	u := &UART{Bus: m, Base: 0x1000, Stride: 1, Width: 1}
	require.NoError(t, u.WriteByte('x'))
	require.Equal(t, 0, busy, "the driver must poll LSR until THR is empty")
	require.Equal(t, "x", string(*tx))
}

func TestValidate(t *testing.T) {
	m := mmiotest.New(false)
	for _, tc := range []struct {
		u    UART
		want string
	}{
		{UART{Base: 1, Stride: 1, Width: 1}, "no bus"},
		{UART{Bus: m, Stride: 4, Width: 2}, "access width 2"},
		{UART{Bus: m, Stride: 1, Width: 4}, "stride 1 smaller"},
		{UART{Bus: m, Stride: 4, Width: 4, ClockHz: 1000, Baud: 115200}, "cannot divide"},
		{UART{Bus: m, Stride: 4, Width: 4, ClockHz: 24000000}, "cannot divide"},
	} {
		err := tc.u.Init()
		require.ErrorContains(t, err, tc.want)
	}
	require.Empty(t, m.Log, "a rejected configuration must not touch the device")
}

// Send never waits: it fills the FIFO while the transmitter is empty and
// enables the transmitter-empty interrupt while bytes are left over; a
// newline takes two FIFO places ("\r\n"), and is not split across calls.
func TestSendFillsFIFOAndArmsTheInterrupt(t *testing.T) {
	const base = 0x10000000
	m := mmiotest.New(true)
	for r := uintptr(0); r < 8; r++ {
		m.Reg(base+r, 1, 0)
	}
	var tx []byte
	inFIFO := 0
	m.OnRead[base+regLSR] = func() uint64 {
		if inFIFO == 0 {
			return lsrTHREmpty
		}
		return 0
	}
	m.OnWrite[base+regData] = func(v uint64) { tx = append(tx, byte(v)); inFIFO++ }
	iirReads := 0
	m.OnRead[base+regIIR] = func() uint64 { iirReads++; return 0x02 }
	u := &UART{Bus: m, Base: base, Stride: 1, Width: 1, FIFO: 4}
	require.NoError(t, u.Init())

	n := u.Send([]byte("abc\ndef"))
	require.Equal(t, 3, n, "a, b, c fill three places; \\n needs two and only one is left")
	require.Equal(t, "abc", string(tx))
	require.Equal(t, uint64(ierTHRE), m.Get(base+regIER), "bytes left: the interrupt is on")
	require.Zero(t, u.Send([]byte("\ndef")), "the FIFO is busy: nothing taken, no wait")
	u.Interrupt()
	require.Equal(t, 1, iirReads)

	inFIFO = 0 // the line drained it
	n = u.Send([]byte("\nde"))
	require.Equal(t, 3, n)
	require.Equal(t, "abc\r\nde", string(tx))
	require.Zero(t, m.Get(base+regIER), "all taken: the interrupt is off again")
	require.Zero(t, u.Send(nil))
	require.NoError(t, m.Err())
}
