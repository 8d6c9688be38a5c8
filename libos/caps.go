//go:build tamago

package libos

import (
	"unsafe"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/libos/sys"
)

// CapList returns the capability list the kernel mapped for this
// environment (abi.CapList: its own root capabilities, then those its
// parent passed), copied.
func CapList() []caps.Cap {
	l := (*abi.CapList)(unsafe.Add(nil, abi.CapsVA))
	out := make([]caps.Cap, l.N)
	for i := range out {
		out[i] = l.Caps[i]
	}
	return out
}

// Passed returns the capabilities this environment's parent passed: the
// list after the root capabilities the kernel minted.
func Passed() []caps.Cap {
	l := (*abi.CapList)(unsafe.Add(nil, abi.CapsVA))
	return CapList()[l.Roots:]
}

// PhysPage returns the physical page number backing the RAM address va.
func PhysPage(va uintptr) (uint64, bool) { return physPage(Startup(), uint64(va)) }

// RootPageCap returns the root capability for the run of memory that holds
// the RAM address va.
func RootPageCap(va uintptr) (caps.Cap, bool) {
	ppn, ok := PhysPage(va)
	if !ok {
		return caps.Cap{}, false
	}
	return findCap(CapList(), caps.KindPage, ppn)
}

// RootCap returns the first capability of kind k that names name.
func RootCap(k caps.Kind, name uint64) (caps.Cap, bool) { return findCap(CapList(), k, name) }

// Lost returns the resources revocation took from this environment (the
// last abi.MaxLost) and how many it has lost in all.
func Lost() ([]abi.Lost, uint32) {
	s := Startup()
	n := min(s.LostCount, abi.MaxLost)
	out := make([]abi.Lost, 0, n)
	for i := s.LostCount - n; i < s.LostCount; i++ {
		out = append(out, s.Lost[i%abi.MaxLost])
	}
	return out, s.LostCount
}

// Spawn creates the environment c describes out of this environment's
// spare frames (see spawnRequest) and returns its id and its env
// capability (control|send|revoke), which EnvControl takes.
func Spawn(c Child) (uint32, caps.Cap, error) {
	r, err := spawnRequest(Startup(), CapList(), c)
	if err != nil {
		return 0, caps.Cap{}, err
	}
	var child caps.Cap
	id, err := sys.Spawn(&r, &child)
	return id, child, err
}

// Spare returns this environment's spare frames: the runs it holds and
// maps nowhere (the first abi.MaxSpare), as the kernel last listed them.
func Spare() []abi.Run {
	s := Startup()
	return append([]abi.Run(nil), s.Spare[:min(s.NumSpare, abi.MaxSpare)]...)
}
