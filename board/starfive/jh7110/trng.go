package jh7110

import (
	"errors"
	"fmt"

	"github.com/exo-os/exo/board/mmio"
)

// The TRNG's registers and its programming model, as Linux's driver uses
// them (drivers/char/hw_random/jh7110-trng.c): commands go to CTRL; STAT
// says whether the block is busy; ISTAT has a write-one-to-clear bit for
// each completed command; a 256-bit result sits in RAND0..RAND7.
const (
	trngCtrl     = 0x00
	trngStat     = 0x04
	trngMode     = 0x08
	trngIE       = 0x10
	trngIStat    = 0x14
	trngRand0    = 0x20
	trngAutoRqst = 0x60
	trngAutoAge  = 0x64

	cmdGenerate = 0x1 // STARFIVE_CTRL_GENE_RANDNUM
	cmdReseed   = 0x2 // STARFIVE_CTRL_EXEC_RANDRESEED

	statGenerating = 1 << 30
	statSeeding    = 1 << 31

	modeR256 = 1 << 3

	// ISTAT bits, and the same positions in IE.
	irqRandReady = 1 << 0
	irqSeedDone  = 1 << 1
	irqLFSRLock  = 1 << 4
	ieGlobal     = 1 << 31
)

// The clock and reset lines the TRNG needs, in the STG clock and reset
// generator (jh7110.dtsi: clocks = <&stgcrg JH7110_STGCLK_SEC_AHB>,
// <&stgcrg JH7110_STGCLK_SEC_MISC_AHB>; resets = <&stgcrg
// JH7110_STGRST_SEC_AHB>). Each clock has a 32-bit register at 4·id whose
// bit 31 enables it (clk-starfive-jh71x0.c); resets are bits of the word
// at 0x74, and the word at 0x78 has the bit set once the line is out of
// reset (reset-starfive-jh7110.c, reset-starfive-jh71x0.c).
const (
	clkSecAHB     = 15
	clkSecMiscAHB = 16
	clkEnable     = 1 << 31
	rstAssert     = 0x74
	rstStatus     = 0x78
	rstSecAHB     = 3
)

// BlockSize is how many random bytes one command yields (RAND0..RAND7 in
// 256-bit mode).
const BlockSize = 32

// DefaultPolls bounds each wait for the device when RNG.Polls is zero.
// Linux allows the TRNG 100 ms to go idle and its reset 1 ms; a million
// uncached register reads take longer than either on a 1.5 GHz U74.
const DefaultPolls = 1_000_000

// ErrNotStarted is returned by Read before a successful Init.
var ErrNotStarted = errors.New("jh7110 trng: not started")

// RNG drives the JH7110's true random number generator by polling (its
// interrupt is not used). It refuses to return bytes it has reason to
// doubt: a command that does not complete, a seed that never finishes, or
// output that repeats.
type RNG struct {
	Bus mmio.Bus
	// Base is the TRNG's register block; CRG is the STG clock and reset
	// generator that feeds it.
	Base, CRG uintptr
	// Polls bounds every wait; zero means DefaultPolls.
	Polls int

	started bool
	// busy is the command TryRead started and has not seen finish (0:
	// none): a generate, or the reseed after a lock-up.
	busy  uint32
	last  [BlockSize]byte
	block [BlockSize]byte
	have  int // unread bytes at the end of block
}

func (r *RNG) polls() int {
	if r.Polls > 0 {
		return r.Polls
	}
	return DefaultPolls
}

func (r *RNG) reg(off uintptr) uintptr { return r.Base + off }

// wait polls addr until cond holds, returning the last value read and
// whether cond held within the poll budget.
func (r *RNG) wait(addr uintptr, cond func(uint32) bool) (uint32, bool) {
	var v uint32
	for i := 0; i < r.polls(); i++ {
		v = r.Bus.Read32(addr)
		if cond(v) {
			return v, true
		}
	}
	return v, false
}

// Init turns the TRNG's clocks on, takes it out of reset, selects 256-bit
// output, and seeds it from its noise source, as Linux's probe and init
// do. U-Boot does not use the TRNG, so nothing can be assumed about the
// state it was left in.
func (r *RNG) Init() error {
	if r.Bus == nil {
		return errors.New("jh7110 trng: no bus")
	}
	r.started = false
	for _, id := range []uintptr{clkSecAHB, clkSecMiscAHB} {
		a := r.CRG + 4*id
		r.Bus.Write32(a, r.Bus.Read32(a)|clkEnable)
	}
	a := r.CRG + rstAssert
	r.Bus.Write32(a, r.Bus.Read32(a)&^(1<<rstSecAHB))
	if v, ok := r.wait(r.CRG+rstStatus, func(v uint32) bool { return v&(1<<rstSecAHB) != 0 }); !ok {
		return fmt.Errorf("jh7110 trng: the security block's reset did not deassert (STGCRG status %#x after %d polls)", v, r.polls())
	}

	r.Bus.Write32(r.reg(trngAutoAge), 0)
	r.Bus.Write32(r.reg(trngAutoRqst), 0)
	r.Bus.Write32(r.reg(trngIStat), r.Bus.Read32(r.reg(trngIStat)))
	r.Bus.Write32(r.reg(trngIE), ieGlobal|irqRandReady|irqSeedDone|irqLFSRLock)
	r.Bus.Write32(r.reg(trngMode), r.Bus.Read32(r.reg(trngMode))|modeR256)
	if err := r.command(cmdReseed, irqSeedDone, "reseed"); err != nil {
		return err
	}
	r.started = true
	r.have = 0
	return nil
}

// command waits for the block to be idle, issues cmd, and waits for the
// ISTAT bit done, which it clears.
func (r *RNG) command(cmd, done uint32, what string) error {
	if v, ok := r.wait(r.reg(trngStat), func(v uint32) bool { return v&(statGenerating|statSeeding) == 0 }); !ok {
		return fmt.Errorf("jh7110 trng: still busy before %s (STAT %#x after %d polls)", what, v, r.polls())
	}
	r.Bus.Write32(r.reg(trngCtrl), cmd)
	v, ok := r.wait(r.reg(trngIStat), func(v uint32) bool { return v&done != 0 })
	if !ok {
		return fmt.Errorf("jh7110 trng: %s did not complete (ISTAT %#x after %d polls)", what, v, r.polls())
	}
	r.Bus.Write32(r.reg(trngIStat), done)
	return nil
}

// generate fills r.block with a fresh 256-bit result.
func (r *RNG) generate() error {
	for attempt := 0; ; attempt++ {
		if err := r.command(cmdGenerate, irqRandReady, "generate"); err != nil {
			return err
		}
		if st := r.Bus.Read32(r.reg(trngIStat)); st&irqLFSRLock != 0 {
			// A single-event upset locked the generator up: Linux
			// reseeds and so do we, once.
			r.Bus.Write32(r.reg(trngIStat), irqLFSRLock)
			if attempt > 0 {
				return errors.New("jh7110 trng: generator locked up twice in a row")
			}
			if err := r.command(cmdReseed, irqSeedDone, "reseed after lock-up"); err != nil {
				return err
			}
			continue
		}
		break
	}
	return r.takeBlock()
}

// takeBlock reads a finished result into r.block and checks it.
func (r *RNG) takeBlock() error {
	for i := 0; i < BlockSize/4; i++ {
		v := r.Bus.Read32(r.reg(trngRand0 + 4*uintptr(i)))
		r.block[4*i] = byte(v)
		r.block[4*i+1] = byte(v >> 8)
		r.block[4*i+2] = byte(v >> 16)
		r.block[4*i+3] = byte(v >> 24)
	}
	// Continuous test: a result equal to the previous one, or all zeros
	// or all ones, means the block is not producing anything.
	zeros, ones := true, true
	for _, c := range r.block {
		zeros = zeros && c == 0
		ones = ones && c == 0xff
	}
	switch {
	case zeros || ones:
		r.started = false
		return fmt.Errorf("jh7110 trng: output is constant (%#x...)", r.block[0])
	case r.block == r.last:
		r.started = false
		return errors.New("jh7110 trng: output repeated itself")
	}
	r.last = r.block
	r.have = BlockSize
	return nil
}

// Read fills b with random bytes. After an error the RNG stays stopped
// until Init succeeds again.
func (r *RNG) Read(b []byte) error {
	if !r.started {
		return ErrNotStarted
	}
	// A command TryRead started finishes first, so that the two never
	// mistake each other's completions.
	for i := 0; r.busy != 0 && r.have == 0; i++ {
		if i == r.polls() {
			return errors.New("jh7110 trng: a command did not complete")
		}
		r.poll()
	}
	if !r.started {
		return ErrNotStarted
	}
	for len(b) > 0 {
		if r.have == 0 {
			if err := r.generate(); err != nil {
				return err
			}
		}
		n := copy(b, r.block[BlockSize-r.have:])
		// Never hand out the same bytes twice.
		for i := BlockSize - r.have; i < BlockSize-r.have+n; i++ {
			r.block[i] = 0
		}
		r.have -= n
		b = b[n:]
	}
	return nil
}

// TryRead copies up to len(b) bytes of finished results into b and
// returns how many, without waiting: when none is left it starts a
// generate command (or looks whether the one it started has finished), so
// a caller that gets 0 tries again later. It is what the kernel's system
// call path uses: no lock, no poll loop. A lock-up reseeds, as Read does;
// a result that fails the continuous test stops the RNG for good (0 from
// then on) until Init.
func (r *RNG) TryRead(b []byte) int {
	if !r.started {
		return 0
	}
	if r.have == 0 && !r.poll() {
		return 0
	}
	n := copy(b, r.block[BlockSize-r.have:])
	clear(r.block[BlockSize-r.have : BlockSize-r.have+n])
	r.have -= n
	return n
}

// poll advances TryRead's command by one look at the TRNG and reports
// whether a fresh block is ready.
func (r *RNG) poll() bool {
	switch r.busy {
	case 0:
		if r.Bus.Read32(r.reg(trngStat))&(statGenerating|statSeeding) != 0 {
			return false
		}
		r.Bus.Write32(r.reg(trngCtrl), cmdGenerate)
		r.busy = cmdGenerate
		return false
	case cmdReseed:
		if r.Bus.Read32(r.reg(trngIStat))&irqSeedDone == 0 {
			return false
		}
		r.Bus.Write32(r.reg(trngIStat), irqSeedDone)
		r.busy = 0
		return false
	}
	st := r.Bus.Read32(r.reg(trngIStat))
	if st&irqRandReady == 0 {
		return false
	}
	r.Bus.Write32(r.reg(trngIStat), irqRandReady)
	if st&irqLFSRLock != 0 {
		r.Bus.Write32(r.reg(trngIStat), irqLFSRLock)
		r.Bus.Write32(r.reg(trngCtrl), cmdReseed)
		r.busy = cmdReseed
		return false
	}
	r.busy = 0
	return r.takeBlock() == nil
}
