package plic

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/board/mmio/mmiotest"
)

// plicModel models the claim/complete protocol: a claim returns the
// highest-priority pending and enabled source above the threshold, clears
// its pending bit, and the source cannot be claimed again until completed.
type plicModel struct {
	*mmiotest.Model
	base      uintptr
	sources   int
	pending   map[int]bool
	inService map[int]bool
	completed []int
}

func newPLIC(base uintptr, sources, contexts int) *plicModel {
	pm := &plicModel{Model: mmiotest.New(true), base: base, sources: sources, pending: map[int]bool{}, inService: map[int]bool{}}
	for i := 0; i < sources; i++ {
		pm.Reg(base+offPriority+4*uintptr(i), 4, 0)
	}
	for w := 0; w < (sources+31)/32; w++ {
		pm.Reg(base+offPending+4*uintptr(w), 4, 0)
		for ctx := 0; ctx < contexts; ctx++ {
			pm.Reg(base+offEnable+enableStride*uintptr(ctx)+4*uintptr(w), 4, 0)
		}
	}
	for ctx := 0; ctx < contexts; ctx++ {
		ctx := ctx
		th := base + offContext + ctxStride*uintptr(ctx)
		pm.Reg(th, 4, 0)
		pm.Reg(th+offClaim, 4, 0)
		pm.OnRead[th+offClaim] = func() uint64 { return uint64(pm.claim(ctx)) }
		pm.OnWrite[th+offClaim] = func(v uint64) {
			delete(pm.inService, int(v))
			pm.completed = append(pm.completed, int(v))
		}
	}
	return pm
}

func (pm *plicModel) enabled(ctx, irq int) bool {
	return pm.Get(pm.base+offEnable+enableStride*uintptr(ctx)+4*uintptr(irq/32))&(1<<(irq%32)) != 0
}

func (pm *plicModel) claim(ctx int) int {
	th := uint32(pm.Get(pm.base + offContext + ctxStride*uintptr(ctx)))
	best, bestPrio := 0, uint32(0)
	for irq := 1; irq < pm.sources; irq++ {
		prio := uint32(pm.Get(pm.base + offPriority + 4*uintptr(irq)))
		if pm.pending[irq] && !pm.inService[irq] && pm.enabled(ctx, irq) && prio > th && prio > bestPrio {
			best, bestPrio = irq, prio
		}
	}
	if best != 0 {
		delete(pm.pending, best)
		pm.inService[best] = true
	}
	return best
}

func TestLayouts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layout Layout
		hart   int
		mode   Mode
		ctx    int
		ok     bool
	}{
		{"virt h0 M", LayoutMS, 0, Machine, 0, true},
		{"virt h0 S", LayoutMS, 0, Supervisor, 1, true},
		{"virt h3 M", LayoutMS, 3, Machine, 6, true},
		{"jh7110 h0 M", LayoutMonitorFirst, 0, Machine, 0, true},
		{"jh7110 h0 S", LayoutMonitorFirst, 0, Supervisor, 0, false},
		{"jh7110 h1 M", LayoutMonitorFirst, 1, Machine, 1, true},
		{"jh7110 h1 S", LayoutMonitorFirst, 1, Supervisor, 2, true},
		{"jh7110 h4 M", LayoutMonitorFirst, 4, Machine, 7, true},
		{"jh7110 h4 S", LayoutMonitorFirst, 4, Supervisor, 8, true},
	} {
		ctx, ok := tc.layout(tc.hart, tc.mode)
		require.Equal(t, tc.ok, ok, tc.name)
		if ok {
			require.Equal(t, tc.ctx, ctx, tc.name)
		}
	}
}

func TestBoards(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sources  int
		harts    int
		layout   Layout
		hart     int
		contexts int
		irq      int // a source above 32 exercises the second enable word
	}{
		{"qemu-virt uart", 96, 1, LayoutMS, 0, 2, 10},
		{"qemu-virt virtio", 96, 1, LayoutMS, 0, 2, 8},
		{"visionfive2 uart0", 137, 5, LayoutMonitorFirst, 1, 9, 32},
		{"visionfive2 gmac1", 137, 5, LayoutMonitorFirst, 1, 9, 78},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pm := newPLIC(0xc000000, tc.sources, tc.contexts)
			p := &PLIC{Bus: pm, Base: 0xc000000, Sources: tc.sources, Harts: tc.harts, Layout: tc.layout}
			ctx, err := p.Context(tc.hart, Machine)
			require.NoError(t, err)
			other := tc.irq - 1

			require.NoError(t, p.SetPriority(tc.irq, 2))
			require.NoError(t, p.SetPriority(other, 1))
			require.NoError(t, p.Enable(ctx, tc.irq, true))
			require.NoError(t, p.Enable(ctx, other, true))
			p.SetThreshold(ctx, 0)

			pm.pending[tc.irq] = true
			pm.pending[other] = true
			require.Equal(t, tc.irq, p.Claim(ctx), "highest priority first")
			require.Equal(t, other, p.Claim(ctx))
			require.Equal(t, 0, p.Claim(ctx), "nothing left")
			p.Complete(ctx, tc.irq)
			p.Complete(ctx, other)
			require.Equal(t, []int{tc.irq, other}, pm.completed)

			// Disabling one source must not disturb its neighbour in
			// the same enable word.
			require.NoError(t, p.Enable(ctx, other, false))
			pm.pending[tc.irq], pm.pending[other] = true, true
			require.Equal(t, tc.irq, p.Claim(ctx))
			require.Equal(t, 0, p.Claim(ctx))

			// A threshold at the source's priority masks it.
			p.Complete(ctx, tc.irq)
			p.SetThreshold(ctx, 2)
			pm.pending[tc.irq] = true
			require.Equal(t, 0, p.Claim(ctx))
			require.NoError(t, pm.Err())
		})
	}
}

func TestErrors(t *testing.T) {
	pm := newPLIC(0xc000000, 96, 2)
	p := &PLIC{Bus: pm, Base: 0xc000000, Sources: 96, Harts: 1, Layout: LayoutMS}
	require.ErrorContains(t, p.SetPriority(0, 1), "source 0 out of range 1..95")
	require.ErrorContains(t, p.SetPriority(96, 1), "source 96 out of range")
	require.ErrorContains(t, p.Enable(0, 200, true), "source 200 out of range")
	_, err := p.Context(1, Machine)
	require.ErrorContains(t, err, "hart 1 out of range (1 harts)")
	p5 := &PLIC{Bus: pm, Base: 0xc000000, Sources: 137, Harts: 5, Layout: LayoutMonitorFirst}
	_, err = p5.Context(0, Supervisor)
	require.ErrorContains(t, err, "hart 0 has no S-mode context")
	require.Empty(t, pm.Log, "rejected calls must not touch the device")
}
