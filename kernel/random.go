package kernel

import (
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/vm"
)

// entropyPool holds entropy the board delivered and no environment has
// taken yet. SysRandom never waits for the device with interrupts masked:
// it takes what the pool and the board have, or waits inside the call
// until the device's interrupt (or, for a board whose source does not
// interrupt, the next look at a slot boundary) brings more.
type entropyPool struct {
	buf [abi.MaxRandom]byte
	n   int
}

// fillEntropy tops the pool up from what the board has gathered.
func (k *Kernel) fillEntropy() {
	p := &k.entropy
	if p.n < len(p.buf) {
		p.n += k.plat.TryEntropy(p.buf[p.n:])
	}
}

// sysRandom fills up to n bytes at user address va with entropy and
// returns how many: what the kernel has, at least one byte.
func sysRandom(k *Kernel, e *Env) (uint64, uint64, outcome) {
	va, n := e.ctx.X[regA0], e.ctx.X[regA1]
	if n > abi.MaxRandom {
		return 0, abi.ErrTooBig, resume
	}
	if n == 0 {
		return 0, abi.OK, resume
	}
	if !userRange(e.as, va, n, vm.R|vm.W) {
		return 0, abi.ErrFault, resume
	}
	k.fillEntropy()
	p := &k.entropy
	if p.n == 0 {
		e.state, e.wait = Waiting, waitEntropy
		return 0, 0, block
	}
	take := min(int(n), p.n)
	// The bytes leave from the end of the pool, and are wiped there, so
	// no byte ever goes to two callers.
	k.copyOut(e, va, p.buf[p.n-take:p.n])
	clear(p.buf[p.n-take : p.n])
	p.n -= take
	k.fillEntropy()
	return uint64(take), abi.OK, resume
}

// waitOver reports whether what a Waiting environment waits for is there.
func (k *Kernel) waitOver(e *Env) bool {
	switch e.wait {
	case waitConsole:
		k.con.drain()
		return k.con.free()-kernelReserve >= consoleRoom || k.con.tail == k.con.head
	case waitEntropy:
		k.fillEntropy()
		return k.entropy.n > 0
	case waitNet:
		return k.netWaitOver(e, k.plat.Now())
	case waitPred:
		return k.predOver(e, k.plat.Now())
	}
	return true
}
