package kernel

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/mem"
)

// FuzzSystemCalls runs environments that make system calls the fuzzer
// chooses — maps, unmaps, spawns, revocations, slot binds and releases,
// environment control, writes, random, yields — with arguments and
// capabilities drawn from what they hold, mutated, or made up, while every
// job step costs time (so jobs of different environments interleave across
// slots). Whatever the sequence, the kernel must not panic or report a BUG,
// must finish, and must have given everything back: every frame free but
// the slot vector's, every slot free, every env id returned to its tree,
// no revocation left running.
func FuzzSystemCalls(f *testing.F) {
	for _, seed := range []string{
		"\x02\x10\x00\x03\x00\x06\x03\x00",         // spawn, revoke, control
		"\x00\x01\x00\x01\x04\x05\x07\x08\x09",     // map, unmap, slots, write, random
		"\x02\x00\x02\x01\x02\x02\x06\x01\x06\x03", // spawns, stop, destroy
		"\x03\x07\x03\x05\x02\x04\x00\x05\x00\x06", // revokes of several kinds
		strings.Repeat("\x02\x03\x06\x04", 8),
	} {
		f.Add([]byte(seed), uint16(3000))
	}
	f.Fuzz(func(t *testing.T, data []byte, tick uint16) {
		if len(data) > 256 {
			data = data[:256]
		}
		fz := &fuzzer{data: data}
		h := newHarness(t, map[string]program{
			"a": fz.program(40), "b": fz.program(20), "kid": fz.program(12),
		}, "exo-manifest v1\nslots 12\nenv a mem=2M spare=8M spawn=4\nenv b mem=2M spare=4M spawn=yes\n")
		h.p.workTick = uint64(tick % 20000)
		done := make(chan any, 1)
		go func() {
			defer func() { done <- recover() }()
			h.k.Run()
		}()
		select {
		case p := <-done:
			if p != nil {
				t.Fatalf("kernel panicked: %v\nconsole:\n%s", p, h.console())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("kernel did not finish\nconsole:\n%s", h.console())
		}
		out := h.console()
		if strings.Contains(out, "BUG") {
			t.Fatalf("the kernel found itself inconsistent:\n%s", out)
		}
		k := h.k
		switch {
		case k.frames.Count(envFrame) != 0:
			t.Fatalf("%d frames still held by environments", k.frames.Count(envFrame))
		case k.frames.FreeCount() != k.frames.Len()-1:
			t.Fatalf("free frames %d, want %d", k.frames.FreeCount(), k.frames.Len()-1)
		case k.frames.Count(mem.Kernel) != 1:
			t.Fatalf("%d frames still the kernel's, want 1 (the slot vector)", k.frames.Count(mem.Kernel))
		case k.live != 0 || len(k.revoking) != 0:
			t.Fatalf("live %d, revoking %d", k.live, len(k.revoking))
		}
		for s := 0; s < k.slots.Len(); s++ {
			if o := k.slots.Owner(s); o != abi.FreeSlot {
				t.Fatalf("slot %d still held by %d", s, o)
			}
		}
		if n := len(k.envs.free); n != MaxEnvs {
			t.Fatalf("%d env ids free, want %d", n, MaxEnvs)
		}
	})
}

// fuzzer turns fuzz bytes into system calls, shared by every program of a
// run (the harness runs one at a time).
type fuzzer struct {
	data []byte
	i    int
	kids []caps.Cap // env capabilities spawns returned
}

func (f *fuzzer) byte() byte {
	if f.i >= len(f.data) {
		return 0
	}
	b := f.data[f.i]
	f.i++
	return b
}

func (f *fuzzer) u64() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = f.byte()
	}
	return binary.LittleEndian.Uint64(b[:])
}

// pickCap returns a capability: one of the caller's, a child's, a derived
// or mutated one, or garbage.
func (f *fuzzer) pickCap(u *uenv) caps.Cap {
	list := u.capList()
	var c caps.Cap
	switch f.byte() % 5 {
	case 0, 1:
		if len(list) > 0 {
			c = list[int(f.byte())%len(list)]
		}
	case 2:
		if len(f.kids) > 0 {
			c = f.kids[int(f.byte())%len(f.kids)]
		}
	case 3:
		if len(list) > 0 {
			c = list[int(f.byte())%len(list)]
			if _, lo, hi, ok := c.Effective(); ok && hi > lo {
				if d, err := caps.Derive(c, caps.Rights(f.byte()), lo+uint64(f.byte())%(hi-lo+1), hi); err == nil {
					c = d
				}
			}
		}
	case 4:
		if len(list) > 0 {
			c = list[int(f.byte())%len(list)]
		}
		c[int(f.byte())%caps.Size] ^= f.byte() | 1
	}
	return c
}

// addr returns a user address: a mapping address, RAM, or wild.
func (f *fuzzer) addr() uint64 {
	switch f.byte() % 4 {
	case 0:
		return mapVA + uint64(f.byte()%8)*mem.PageSize
	case 1:
		return abi.RAMStart + 0x100000 + uint64(f.byte())*64
	case 2:
		return uint64(1<<30) + uint64(f.byte())<<21
	}
	return f.u64()
}

func (f *fuzzer) program(ops int) program {
	return func(u *uenv) {
		for n := 0; n < ops && f.i < len(f.data); n++ {
			switch f.byte() % 11 {
			case 0: // map
				c := f.pickCap(u)
				_, lo, hi, _ := c.Effective()
				ppn := lo
				if hi > lo {
					ppn += uint64(f.byte()) % (hi - lo + 1)
				}
				u.mapPage(f.addr()&^(mem.PageSize-1), ppn, uint64(f.byte()%8), c)
			case 1:
				u.ecall(abi.SysUnmap, f.addr())
			case 2: // spawn
				st := u.startup()
				if st.NumSpare == 0 || st.Spare[0].Pages < abi.SpawnFrames(1<<20, 0)+8 {
					continue
				}
				r := u.spawnReq("kid", 1<<20, uint32(f.byte()%12), "")
				switch f.byte() % 6 {
				case 0:
					r.FirstPage -= uint64(f.byte() % 8)
				case 1:
					r.Pages += uint64(f.byte() % 8)
					r.FirstPage -= r.Pages - abi.SpawnFrames(1<<20, 0)
				case 2:
					r.MemCap = f.pickCap(u)
				case 3:
					r.Flags = uint32(f.byte() % 3)
				case 4:
					r.SlotCap = f.pickCap(u)
				}
				v, e, c := u.spawnWith(r)
				if e == abi.OK && v != 0 {
					f.kids = append(f.kids, c)
				}
			case 3: // revoke
				c := f.pickCap(u)
				u.store(capScratch, c[:])
				u.ecall(abi.SysRevoke, capScratch, outScratch)
			case 4:
				c := f.pickCap(u)
				u.store(capScratch, c[:])
				u.ecall(abi.SysSlotBind, uint64(f.byte()%14), capScratch)
			case 5:
				u.ecall(abi.SysSlotRelease, uint64(f.byte()%14))
			case 6: // env control (not EnvStop: a stopped environment
				// nobody resumes never ends, by design)
				c := f.pickCap(u)
				u.store(capScratch, c[:])
				op := [...]uint64{abi.EnvResume, abi.EnvDestroy, abi.EnvStatus, abi.EnvReap, 0, 99}[f.byte()%6]
				u.ecall(abi.SysEnvControl, op, capScratch, uint64(f.byte()%8))
			case 7:
				u.ecall(abi.SysWrite, f.addr(), uint64(f.byte())*17)
			case 8:
				u.ecall(abi.SysRandom, f.addr(), uint64(f.byte()))
			case 9:
				u.ecall(abi.SysYield)
			case 10:
				u.spin(uint64(f.byte()) * 500)
			}
		}
		u.ecall(abi.SysExit, 0)
	}
}
