package virt

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/driver/plic"
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
