package vm

import "fmt"

// Changing a mapping in place, and the accessed and dirty bits (the
// kernel's SysProtect and SysPageBits).

// Bits is a page's accessed and dirty bits, at their PTE positions
// (priv §4.3.1: A is set when the page is read, written or fetched, D when
// it is written).
type Bits uint64

// Accessed and dirty.
const (
	Accessed Bits = pteA
	Dirty    Bits = pteD
)

// Protect sets the permissions of the mapped page at va to perm, keeping
// its frame and its accessed and dirty bits, and returns the frame and the
// permissions it had. perm may lack U (the page stays mapped, no User
// access succeeds: ProtNone) but must otherwise be what Map accepts. As with
// Map, a writable page gets D set if it does not have it, so that no hart
// needs to fault to set it for the write; the caller fences.
func (as *AddressSpace) Protect(va uint64, perm Perm) (pa uint64, old Perm, err error) {
	if err := checkVA(va); err != nil {
		return 0, 0, err
	}
	if perm&^(R|W|X|U) != 0 || perm&(R|X) == 0 || perm&(R|W) == W {
		return 0, 0, fmt.Errorf("vm: invalid permissions %v for %#x (need r or x; w needs r)", perm, va)
	}
	e, err := as.walk(va, false)
	if err != nil {
		return 0, 0, err
	}
	if e == nil || *e&pteV == 0 {
		return 0, 0, fmt.Errorf("vm: protect %#x: %w", va, ErrUnmapped)
	}
	old = Perm(*e) & (R | W | X | U)
	*e = *e&^uint64(R|W|X|U) | uint64(perm)
	return (*e & ppnMask) >> 10 << 12, old, nil
}

// Bits returns the accessed and dirty bits of the page at va, after
// clearing those in clear (the caller fences the translation when it
// clears any), and whether the page is mapped.
func (as *AddressSpace) Bits(va uint64, clear Bits) (Bits, bool) {
	if checkVA(va) != nil {
		return 0, false
	}
	e, err := as.walk(va, false)
	if err != nil || e == nil || *e&pteV == 0 {
		return 0, false
	}
	b := Bits(*e) & (Accessed | Dirty)
	*e &^= uint64(clear & (Accessed | Dirty))
	return b, true
}

// Touch sets the accessed bit of the page containing va, and the dirty bit
// if write, as a hart that does not update them itself asks the kernel to
// by faulting (priv §4.3.1, Svade). It reports whether the entry changed.
func (as *AddressSpace) Touch(va uint64, write bool) bool {
	if va >= UserTop {
		return false
	}
	e, err := as.walk(va&^0xfff, false)
	if err != nil || e == nil || *e&pteV == 0 {
		return false
	}
	set := uint64(pteA)
	if write {
		set |= pteD
	}
	if *e&set == set {
		return false
	}
	*e |= set
	return true
}
