// Package vm builds the Sv39 page tables that give each environment its own
// address space (priv §4.4): three levels of 512 eight-byte entries,
// translating 39-bit virtual addresses to physical ones in 4 KiB pages.
//
// The kernel runs in Machine mode without translation; these tables only
// govern the environments. Table frames come from a TableSource (the
// frames charged to the environment for its tables) and are never mapped
// into any environment, so no environment can edit its own translation.
package vm

import (
	"errors"
	"fmt"

	"github.com/exo-os/exo/kernel/mem"
)

// Perm is a set of page permissions: the R, W, X and U bits of a PTE.
type Perm uint64

// Page permissions, at their PTE bit positions.
const (
	R Perm = 1 << 1
	W Perm = 1 << 2
	X Perm = 1 << 3
	U Perm = 1 << 4
)

func (p Perm) String() string {
	b := []byte("----")
	for i, c := range []struct {
		bit Perm
		ch  byte
	}{{R, 'r'}, {W, 'w'}, {X, 'x'}, {U, 'u'}} {
		if p&c.bit != 0 {
			b[i] = c.ch
		}
	}
	return string(b)
}

// PTE bits beyond the permissions.
const (
	pteV    = 1 << 0
	pteA    = 1 << 6
	pteD    = 1 << 7
	pteLeaf = uint64(R | W | X)
	ppnMask = (1<<44 - 1) << 10
)

// UserTop is the end of the user half of the Sv39 address space: addresses
// at or above 2^38 would need sign extension and belong to the upper half.
const UserTop = 1 << 38

// satpSv39 is the MODE field of satp selecting Sv39 (priv §4.1.11).
const satpSv39 = 8 << 60

// Errors.
var (
	ErrMapped   = errors.New("page already mapped")
	ErrUnmapped = errors.New("page not mapped")
)

// TableSource gives an address space the frames for its tables.
type TableSource interface {
	// Table returns a frame for a new table (its contents are
	// overwritten), or an error wrapping mem.ErrNoMemory when none is
	// left to this address space.
	Table() (uint64, error)
}

// AddressSpace is one environment's page table.
type AddressSpace struct {
	phys   mem.Phys
	src    TableSource
	root   uint64
	tables []uint64 // every table frame, root first
}

// New makes an empty address space (one root table frame) whose tables
// come from src, at most maxTables of them.
func New(phys mem.Phys, src TableSource, maxTables int) (*AddressSpace, error) {
	if maxTables < 1 {
		return nil, fmt.Errorf("vm: an address space of %d tables", maxTables)
	}
	as := &AddressSpace{phys: phys, src: src, tables: make([]uint64, 0, maxTables)}
	root, err := as.newTable()
	if err != nil {
		return nil, fmt.Errorf("vm: root page table: %w", err)
	}
	as.root = root
	return as, nil
}

// ErrNoTables is returned when a mapping needs a table beyond the address
// space's limit; it wraps mem.ErrNoMemory.
var ErrNoTables = fmt.Errorf("vm: page-table frames used up: %w", mem.ErrNoMemory)

func (as *AddressSpace) newTable() (uint64, error) {
	if len(as.tables) == cap(as.tables) {
		return 0, ErrNoTables
	}
	pa, err := as.src.Table()
	if err != nil {
		return 0, err
	}
	clear(as.phys.Page(pa)[:])
	as.tables = append(as.tables, pa)
	return pa, nil
}

// Root returns the physical address of the root table.
func (as *AddressSpace) Root() uint64 { return as.root }

// Satp returns the satp value that installs this address space under
// address-space id asid (which tags its TLB entries; priv §4.1.11).
func (as *AddressSpace) Satp(asid uint16) uint64 {
	return satpSv39 | uint64(asid)<<44 | as.root>>12
}

// TableFrames returns the number of frames the tables occupy.
func (as *AddressSpace) TableFrames() int { return len(as.tables) }

// MaxTables returns the most table frames the address space may use.
func (as *AddressSpace) MaxTables() int { return cap(as.tables) }

func vpn(va uint64, level int) uint64 { return va >> (12 + 9*level) & 511 }

func checkVA(va uint64) error {
	if va%mem.PageSize != 0 {
		return fmt.Errorf("vm: virtual address %#x is not page aligned", va)
	}
	if va >= UserTop {
		return fmt.Errorf("vm: virtual address %#x is outside the user half (below %#x)", va, uint64(UserTop))
	}
	return nil
}

// walk returns the leaf entry for va, creating intermediate tables if
// create is set; it returns nil if a table is missing and create is not.
func (as *AddressSpace) walk(va uint64, create bool) (*uint64, error) {
	table := as.phys.Table(as.root)
	for level := 2; level > 0; level-- {
		e := &table[vpn(va, level)]
		switch {
		case *e&pteV == 0:
			if !create {
				return nil, nil
			}
			pa, err := as.newTable()
			if err != nil {
				return nil, fmt.Errorf("vm: page table for %#x: %w", va, err)
			}
			*e = pa>>12<<10 | pteV
		case *e&pteLeaf != 0:
			// This package maps only 4 KiB pages; a superpage here
			// means the table was corrupted.
			return nil, fmt.Errorf("vm: unexpected superpage entry %#x at level %d for %#x", *e, level, va)
		}
		table = as.phys.Table((*e & ppnMask) >> 10 << 12)
	}
	return &table[vpn(va, 0)], nil
}

// Map maps the page at va to the frame at pa with permissions perm.
// Accessed and dirty bits are set up front so that no hardware needs to
// update them or fault to have them updated (priv §4.3.1 allows either).
func (as *AddressSpace) Map(va, pa uint64, perm Perm) error {
	if err := checkVA(va); err != nil {
		return err
	}
	if pa%mem.PageSize != 0 || pa>>56 != 0 {
		return fmt.Errorf("vm: physical address %#x is not a page frame", pa)
	}
	if perm&^(R|W|X|U) != 0 || perm&(R|X) == 0 || perm&(R|W) == W {
		return fmt.Errorf("vm: invalid permissions %v for %#x (need r or x; w needs r)", perm, va)
	}
	e, err := as.walk(va, true)
	if err != nil {
		return err
	}
	if *e&pteV != 0 {
		return fmt.Errorf("vm: map %#x: %w", va, ErrMapped)
	}
	bits := uint64(perm) | pteV | pteA
	if perm&W != 0 {
		bits |= pteD
	}
	*e = pa>>12<<10 | bits
	return nil
}

// Unmap removes the mapping of va and returns the frame it mapped. The
// caller must flush the TLB before the frame is reused.
func (as *AddressSpace) Unmap(va uint64) (uint64, error) {
	if err := checkVA(va); err != nil {
		return 0, err
	}
	e, err := as.walk(va, false)
	if err != nil {
		return 0, err
	}
	if e == nil || *e&pteV == 0 {
		return 0, fmt.Errorf("vm: unmap %#x: %w", va, ErrUnmapped)
	}
	pa := (*e & ppnMask) >> 10 << 12
	*e = 0
	return pa, nil
}

// Lookup returns the frame and permissions of the page containing va.
func (as *AddressSpace) Lookup(va uint64) (pa uint64, perm Perm, ok bool) {
	if va >= UserTop {
		return 0, 0, false
	}
	e, err := as.walk(va&^(mem.PageSize-1), false)
	if err != nil || e == nil || *e&pteV == 0 {
		return 0, 0, false
	}
	return (*e&ppnMask)>>10<<12 | va&(mem.PageSize-1), Perm(*e) & (R | W | X | U), true
}

// Release empties the address space and returns its table frames, root
// first, for the caller to give back; the frames the tables mapped are the
// caller's too. The address space must not be used again.
func (as *AddressSpace) Release() []uint64 {
	t := as.tables
	as.tables = nil
	as.root = 0
	return t
}

// PoolTables is a TableSource that allocates tables from a frame pool, as
// the kernel's own (mem.Kernel).
type PoolTables struct{ Frames *mem.Frames }

// Table allocates a frame.
func (p PoolTables) Table() (uint64, error) { return p.Frames.Alloc(mem.Kernel) }
