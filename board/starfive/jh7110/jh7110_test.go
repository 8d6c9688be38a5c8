package jh7110

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/driver/plic"
	"github.com/exo-os/exo/board/mmio/mmiotest"
)

// The shared drivers, configured by this package's constructors, against
// register models that only accept the JH7110's geometry.

func TestUARTGeometry(t *testing.T) {
	m := mmiotest.New(true)
	for r := uintptr(0); r < 8; r++ {
		m.Reg(UART0Base+4*r, 4, 0) // 32-bit registers, four bytes apart
	}
	m.Set(UART0Base+4*5, 1<<5) // LSR: transmitter empty
	var tx []byte
	m.OnWrite[UART0Base] = func(v uint64) { tx = append(tx, byte(v)) }
	u := UART(m)
	require.NoError(t, u.Init())
	_, err := u.Write([]byte("ok\n"))
	require.NoError(t, err)
	require.Equal(t, "ok\r\n", string(tx))
	require.NoError(t, m.Err())
	require.Empty(t, m.Writes(UART0Base + 4*3)[1:], "LCR written once: the divisor SPL set is kept")
	require.Equal(t, []uint64{0x03}, m.Writes(UART0Base+4*3), "8N1, DLAB never set")
}

func TestCLINTTimebase(t *testing.T) {
	m := mmiotest.New(true)
	for h := uintptr(0); h < Harts; h++ {
		m.Reg(CLINTBase+4*h, 4, 0)
		m.Reg(CLINTBase+0x4000+8*h, 8, 0)
	}
	m.Reg(CLINTBase+0xbff8, 8, 4_000_000)
	c := CLINT(m)
	require.NoError(t, c.Validate())
	require.Equal(t, int64(1e9), c.Nanotime(), "4 MHz: 4e6 ticks are one second")
	c.SetCompare(4, 42)
	require.Equal(t, uint64(42), m.Get(CLINTBase+0x4000+8*4), "hart 4's compare register")
	require.NoError(t, m.Err())
}

func TestPLICContexts(t *testing.T) {
	m := mmiotest.New(false)
	p := PLIC(m)
	for _, tc := range []struct {
		hart int
		mode plic.Mode
		ctx  int
		err  string
	}{
		{0, plic.Machine, 0, ""},
		{0, plic.Supervisor, 0, "no S-mode context"},
		{1, plic.Machine, 1, ""},
		{1, plic.Supervisor, 2, ""},
		{4, plic.Machine, 7, ""},
		{4, plic.Supervisor, 8, ""},
		{5, plic.Machine, 0, "out of range"},
	} {
		ctx, err := p.Context(tc.hart, tc.mode)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.ctx, ctx, "hart %d %v", tc.hart, tc.mode)
	}
	require.NoError(t, p.SetPriority(136, 1), "riscv,ndev = 136: source 136 exists")
	require.ErrorContains(t, p.SetPriority(137, 1), "out of range")
	require.NoError(t, p.Enable(1, UART0IRQ, true))
	require.Equal(t, uint64(1), m.Get(PLICBase+0x2000+0x80*1+4), "UART0 (source 32) is bit 0 of hart 1 M's second enable word")
}
