package jh7110

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/mmio/mmiotest"
)

// trngModel is a register model of the TRNG and the part of the STG clock
// and reset generator it depends on. The TRNG answers only while both its
// clocks run and its reset is deasserted; otherwise its registers read 0
// and ignore writes (real hardware may instead stall the bus, which the
// driver avoids by enabling the clocks first).
type trngModel struct {
	*mmiotest.Model
	// clocksStuck: the CRG ignores clock enables (a clock that cannot
	// start). seedNever: reseed never completes. output: what each
	// generate command yields (cycled); lockups: how many generate
	// commands report an LFSR lock-up first.
	clocksStuck bool
	seedNever   bool
	output      [][8]uint32
	lockups     int

	generated, reseeds int
	// pending is ISTAT: the completions not yet cleared.
	pending uint64
}

func newTRNG(t *testing.T) *trngModel {
	m := &trngModel{Model: mmiotest.New(true)}
	crg, trng := uintptr(STGCRGBase), uintptr(TRNGBase)
	for id := uintptr(0); id < 23; id++ {
		m.Reg(crg+4*id, 4, 0)
	}
	m.Reg(crg+rstAssert, 4, 0xffffffff) // everything held in reset
	m.Reg(crg+rstStatus, 4, 0)
	for _, off := range []uintptr{trngCtrl, trngStat, trngMode, 0x0c, trngIE, trngIStat, trngAutoRqst, trngAutoAge} {
		m.Reg(trng+off, 4, 0)
	}
	for i := uintptr(0); i < 8; i++ {
		m.Reg(trng+trngRand0+4*i, 4, 0)
	}
	alive := func() bool {
		return m.Get(crg+4*clkSecAHB)&clkEnable != 0 && m.Get(crg+4*clkSecMiscAHB)&clkEnable != 0 &&
			m.Get(crg+rstAssert)&(1<<rstSecAHB) == 0
	}
	for _, id := range []uintptr{clkSecAHB, clkSecMiscAHB} {
		a := crg + 4*id
		m.OnWrite[a] = func(v uint64) {
			if m.clocksStuck {
				m.Set(a, v&^clkEnable)
			}
		}
	}
	m.OnRead[crg+rstStatus] = func() uint64 {
		// The line leaves reset only if its clocks run.
		if alive() {
			return ^m.Get(crg+rstAssert) & 0xffffffff
		}
		return ^m.Get(crg+rstAssert) & 0xffffffff &^ (1 << rstSecAHB)
	}
	// Every TRNG register is dead while the block is not alive.
	for a := range map[uintptr]bool{trng + trngCtrl: true, trng + trngStat: true, trng + trngMode: true, trng + trngIE: true, trng + trngIStat: true, trng + trngAutoRqst: true, trng + trngAutoAge: true} {
		a := a
		prevRead := m.OnRead[a]
		m.OnRead[a] = func() uint64 {
			if !alive() {
				return 0
			}
			if prevRead != nil {
				return prevRead()
			}
			return m.Get(a)
		}
	}
	istat := trng + trngIStat
	m.OnWrite[istat] = func(v uint64) {
		// Write one to clear: the register keeps the bits not written.
		m.Set(istat, m.pending&^v)
		m.pending &^= v
	}
	m.OnRead[istat] = func() uint64 {
		if !alive() {
			return 0
		}
		return m.pending
	}
	m.OnWrite[trng+trngCtrl] = func(v uint64) {
		if !alive() {
			return
		}
		switch v {
		case cmdReseed:
			m.reseeds++
			if !m.seedNever {
				m.pending |= irqSeedDone
			}
		case cmdGenerate:
			if m.lockups > 0 {
				m.lockups--
				m.pending |= irqRandReady | irqLFSRLock
				return
			}
			out := m.output[m.generated%len(m.output)]
			m.generated++
			for i, w := range out {
				m.Set(trng+trngRand0+4*uintptr(i), uint64(w))
			}
			m.pending |= irqRandReady
		default:
			t.Errorf("unexpected TRNG command %#x", v)
		}
	}
	m.output = [][8]uint32{
		{0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c, 0x13121110, 0x17161514, 0x1b1a1918, 0x1f1e1d1c},
		{0x23222120, 0x27262524, 0x2b2a2928, 0x2f2e2d2c, 0x33323130, 0x37363534, 0x3b3a3938, 0x3f3e3d3c},
	}
	return m
}

func (m *trngModel) rng() *RNG {
	return &RNG{Bus: m, Base: TRNGBase, CRG: STGCRGBase, Polls: 100}
}

func TestTRNGBringUpAndRead(t *testing.T) {
	m := newTRNG(t)
	r := m.rng()
	require.ErrorIs(t, r.Read(make([]byte, 1)), ErrNotStarted)
	require.NoError(t, r.Init())
	require.Equal(t, uint64(clkEnable), m.Get(STGCRGBase+4*clkSecAHB)&clkEnable)
	require.Equal(t, uint64(clkEnable), m.Get(STGCRGBase+4*clkSecMiscAHB)&clkEnable)
	require.Zero(t, m.Get(STGCRGBase+rstAssert)&(1<<rstSecAHB), "reset deasserted")
	require.Equal(t, uint64(0xfffffff7), m.Get(STGCRGBase+rstAssert), "other resets untouched")
	require.Equal(t, uint64(modeR256), m.Get(TRNGBase+trngMode)&modeR256)
	require.Equal(t, 1, m.reseeds)

	b := make([]byte, 40)
	require.NoError(t, r.Read(b))
	want := make([]byte, 40)
	for i := range want {
		want[i] = byte(i)
	}
	require.Equal(t, want, b, "bytes in register order, little-endian words, across two commands")
	require.Equal(t, 2, m.generated)
	require.NoError(t, m.Err(), "every access is a 32-bit access to a declared register")
	for _, a := range m.Log {
		require.Equal(t, 4, a.Width)
	}
}

func TestTRNGClockNeverStarts(t *testing.T) {
	m := newTRNG(t)
	m.clocksStuck = true
	err := m.rng().Init()
	require.ErrorContains(t, err, "reset did not deassert")
}

func TestTRNGSeedNeverCompletes(t *testing.T) {
	m := newTRNG(t)
	m.seedNever = true
	r := m.rng()
	require.ErrorContains(t, r.Init(), "reseed did not complete")
	require.ErrorIs(t, r.Read(make([]byte, 8)), ErrNotStarted, "no bytes from a generator that never seeded")
}

func TestTRNGRefusesStuckOutput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		output [][8]uint32
		want   string
	}{
		{"zeros", [][8]uint32{{}}, "constant"},
		{"ones", [][8]uint32{{^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0), ^uint32(0)}}, "constant"},
		{"repeats", [][8]uint32{{1, 2, 3, 4, 5, 6, 7, 8}}, "repeated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTRNG(t)
			m.output = tc.output
			r := m.rng()
			require.NoError(t, r.Init())
			err := r.Read(make([]byte, 2*BlockSize))
			require.ErrorContains(t, err, tc.want)
			require.ErrorIs(t, r.Read(make([]byte, 1)), ErrNotStarted, "stays stopped after a failure")
		})
	}
}

func TestTRNGReseedsAfterLockup(t *testing.T) {
	m := newTRNG(t)
	r := m.rng()
	require.NoError(t, r.Init())
	m.lockups = 1
	b := make([]byte, 4)
	require.NoError(t, r.Read(b))
	require.Equal(t, []byte{0, 1, 2, 3}, b)
	require.Equal(t, 2, m.reseeds, "a lock-up costs one reseed")

	m.lockups = 2
	r2 := m.rng()
	require.NoError(t, r2.Init())
	require.ErrorContains(t, r2.Read(b), "locked up twice")
}

func TestTRNGDeviceDead(t *testing.T) {
	// A TRNG that never reports completion (its clocks run, but the
	// command is ignored) times out instead of hanging.
	m := newTRNG(t)
	r := m.rng()
	require.NoError(t, r.Init())
	m.OnWrite[TRNGBase+trngCtrl] = func(uint64) {}
	require.ErrorContains(t, r.Read(make([]byte, 1)), "generate did not complete")
}

// TryRead never waits: each call looks at the TRNG once, starting a
// generate, then taking its result; a lock-up reseeds on the way; a stuck
// output stops it. Every access is a single 32-bit register access.
func TestTRNGTryRead(t *testing.T) {
	m := newTRNG(t)
	r := m.rng()
	require.Zero(t, r.TryRead(make([]byte, 8)), "not started")
	require.NoError(t, r.Init())
	m.lockups = 1
	b := make([]byte, 40)
	got := 0
	calls := 0
	for got < len(b) && calls < 20 {
		before := len(m.Log)
		got += r.TryRead(b[got:])
		calls++
		require.LessOrEqual(t, len(m.Log)-before, 2+BlockSize/4, "one look, and a block's registers at most")
	}
	want := make([]byte, 40)
	for i := range want {
		want[i] = byte(i)
	}
	require.Equal(t, want, b)
	require.Equal(t, 2, m.reseeds, "the lock-up reseeded once")
	require.Greater(t, calls, 2, "results arrive over several calls")
	require.NoError(t, m.Err())

	m.output = [][8]uint32{{}}
	for i := 0; i < 10; i++ {
		r.TryRead(b)
	}
	require.Zero(t, r.TryRead(b), "stopped after a constant block")
	require.ErrorIs(t, r.Read(b), ErrNotStarted)
}
