// Package demux is the kernel's packet demultiplexer: it names a received
// frame in the port namespace (caps.PortName; the guard tables of
// abi.GuardTables) and finds the one bound guard that covers the name.
//
// A lookup costs the same whether one guard or a thousand are bound, as
// DPF's hash tables on demultiplexing atoms do (Engler and Kaashoek,
// SIGCOMM'96): each table maps every single name directly to its binding
// (a 16-bit index), and keeps at most MaxRanges guards that cover more
// than one name, which a lookup that misses scans. Guards never overlap, so
// a frame has one receiver, and a filter bound under a guard can narrow
// what it receives but never widen it.
//
// The package allocates only in New; Classify and Lookup never allocate.
package demux

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/exo-os/exo/kernel/abi"
)

// ID is a binding's index, as the kernel numbers them; 0 is none.
type ID uint16

// MaxRanges bounds the guards over more than one name per table.
const MaxRanges = 16

// Errors of Add.
var (
	// ErrOverlap: the guard overlaps one already bound.
	ErrOverlap = errors.New("demux: guard overlaps a bound guard")
	// ErrShape: the names are not inside one guard table.
	ErrShape = errors.New("demux: names are not inside one guard table")
	// ErrRanges: the table already holds MaxRanges multi-name guards.
	ErrRanges = errors.New("demux: too many multi-name guards in the table")
)

// blockSize is how many names share one count of bound single names, so
// that Add checks a range against single names in bounded time.
const blockSize = 256

// table is one guard table's bindings.
type table struct {
	lo, hi uint64
	single []ID     // by name - lo
	counts []uint16 // single names bound per block of blockSize
	ranges [MaxRanges]struct {
		lo, hi uint64
		id     ID
	}
	n int // ranges in use
}

// Index is the set of bound guards.
type Index struct {
	tables [len(abi.GuardTables)]table
}

// New returns an empty index over the guard tables.
func New() *Index {
	x := &Index{}
	for i, g := range abi.GuardTables {
		n := g.Hi - g.Lo + 1
		x.tables[i] = table{lo: g.Lo, hi: g.Hi, single: make([]ID, n), counts: make([]uint16, (n+blockSize-1)/blockSize)}
	}
	return x
}

// Table returns the index in abi.GuardTables of the table holding all of
// [lo, hi], or -1.
func Table(lo, hi uint64) int {
	for i, g := range abi.GuardTables {
		if lo <= hi && lo >= g.Lo && hi <= g.Hi {
			return i
		}
	}
	return -1
}

// Add binds guard [lo, hi] to id (nonzero).
func (x *Index) Add(lo, hi uint64, id ID) error {
	ti := Table(lo, hi)
	if ti < 0 {
		return fmt.Errorf("%w: [%#x, %#x]", ErrShape, lo, hi)
	}
	t := &x.tables[ti]
	for _, r := range t.ranges[:t.n] {
		if lo <= r.hi && r.lo <= hi {
			return ErrOverlap
		}
	}
	if lo == hi {
		if t.single[lo-t.lo] != 0 {
			return ErrOverlap
		}
		t.single[lo-t.lo] = id
		t.counts[(lo-t.lo)/blockSize]++
		return nil
	}
	if t.singlesIn(lo-t.lo, hi-t.lo) {
		return ErrOverlap
	}
	if t.n == MaxRanges {
		return ErrRanges
	}
	t.ranges[t.n].lo, t.ranges[t.n].hi, t.ranges[t.n].id = lo, hi, id
	t.n++
	return nil
}

// singlesIn reports whether any single name in [a, b] (table offsets) is
// bound: whole blocks by their count, the partial ends name by name, at
// most 2·blockSize + len(counts) looks.
func (t *table) singlesIn(a, b uint64) bool {
	for i := a; i <= b; {
		blk := i / blockSize
		if i%blockSize == 0 && i+blockSize-1 <= b {
			if t.counts[blk] != 0 {
				return true
			}
			i += blockSize
			continue
		}
		if t.single[i] != 0 {
			return true
		}
		i++
	}
	return false
}

// Remove unbinds guard [lo, hi], which must be bound as exactly that.
func (x *Index) Remove(lo, hi uint64) {
	ti := Table(lo, hi)
	if ti < 0 {
		return
	}
	t := &x.tables[ti]
	if lo == hi {
		if t.single[lo-t.lo] != 0 {
			t.single[lo-t.lo] = 0
			t.counts[(lo-t.lo)/blockSize]--
		}
		return
	}
	for i := 0; i < t.n; i++ {
		if t.ranges[i].lo == lo && t.ranges[i].hi == hi {
			t.n--
			t.ranges[i] = t.ranges[t.n]
			return
		}
	}
}

// Lookup returns the binding whose guard covers name in table ti (a
// Classify result), or 0. A frame whose name is unknown (whole: a
// non-first fragment) reaches only a guard over the whole table.
func (x *Index) Lookup(ti int, name uint64, whole bool) ID {
	if ti < 0 || ti >= len(x.tables) {
		return 0
	}
	t := &x.tables[ti]
	if !whole {
		if name < t.lo || name > t.hi {
			return 0
		}
		if id := t.single[name-t.lo]; id != 0 {
			return id
		}
	}
	for _, r := range t.ranges[:t.n] {
		if whole && r.lo == t.lo && r.hi == t.hi || !whole && name >= r.lo && name <= r.hi {
			return r.id
		}
	}
	return 0
}

// Ethertypes and IPv4 protocols the tables cover.
const (
	EtherIPv4 = 0x0800
	EtherARP  = 0x0806
	ProtoICMP = 1
	ProtoTCP  = 6
	ProtoUDP  = 17
)

// Table indexes, in abi.GuardTables order.
const (
	TableARP = iota
	TableICMP
	TableTCP
	TableUDP
)

// Local is the machine's addresses, which Classify accepts frames for.
type Local struct {
	// Addr is the machine's IPv4 address, Broadcast its subnet's
	// broadcast address.
	Addr, Broadcast [4]byte
}

// Classify names frame f, received for the machine at l: the guard
// table it belongs to, its name there, and whether only a whole-table
// guard may have it (a non-first fragment). ok is false for a frame no
// guard can receive: too short, malformed, another ethertype or IP
// protocol, an IPv4 header with a bad checksum, or addressed to another
// IPv4 address. It reads only bytes it has checked are there.
func Classify(f []byte, l *Local) (ti int, name uint64, whole, ok bool) {
	if len(f) < 14 {
		return 0, 0, false, false
	}
	be := binary.BigEndian
	switch be.Uint16(f[12:]) {
	case EtherARP:
		// Ethernet/IPv4 ARP (RFC 826): hardware type 1, protocol
		// 0x0800, lengths 6 and 4; for the machine's address.
		a := f[14:]
		if len(a) < 28 || be.Uint16(a[0:]) != 1 || be.Uint16(a[2:]) != EtherIPv4 || a[4] != 6 || a[5] != 4 {
			return 0, 0, false, false
		}
		if [4]byte(a[24:28]) != l.Addr {
			return 0, 0, false, false
		}
		return TableARP, uint64(EtherARP)<<24 | uint64(be.Uint16(a[6:])), false, true
	case EtherIPv4:
	default:
		return 0, 0, false, false
	}
	ip := f[14:]
	if len(ip) < 20 || ip[0]>>4 != 4 {
		return 0, 0, false, false
	}
	ihl := int(ip[0]&15) * 4
	total := int(be.Uint16(ip[2:]))
	if ihl < 20 || total < ihl || total > len(ip) || checksum(ip[:ihl]) != 0 {
		return 0, 0, false, false
	}
	if dst := [4]byte(ip[16:20]); dst != l.Addr && dst != l.Broadcast && dst != [4]byte{255, 255, 255, 255} {
		return 0, 0, false, false
	}
	proto := ip[9]
	switch proto {
	case ProtoICMP:
		ti = TableICMP
	case ProtoTCP:
		ti = TableTCP
	case ProtoUDP:
		ti = TableUDP
	default:
		return 0, 0, false, false
	}
	base := uint64(EtherIPv4)<<24 | uint64(proto)<<16
	if be.Uint16(ip[6:])&0x1fff != 0 {
		return ti, base, true, true // a later fragment: no ports
	}
	l4 := ip[ihl:total]
	switch {
	case proto == ProtoICMP && len(l4) >= 1:
		return ti, base | uint64(l4[0]), false, true
	case proto != ProtoICMP && len(l4) >= 4:
		return ti, base | uint64(be.Uint16(l4[2:])), false, true
	}
	return 0, 0, false, false
}

// checksum is the Internet checksum (RFC 1071) of b; a header with a
// correct checksum field sums to 0.
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// Source names the source of frame f that the machine at l would send:
// its table and name as Classify would name a reply to it (ARP: the
// operation; ICMP: the type; TCP and UDP: the source port), or ok false
// when the frame does not claim the machine's own addresses (mac, and
// for ARP and IPv4 l.Addr), is malformed, or is of a kind no guard
// covers. A non-first fragment has whole set: only a whole-table guard
// covers it.
func Source(f []byte, mac [6]byte, l *Local) (ti int, name uint64, whole, ok bool) {
	if len(f) < 14 || [6]byte(f[6:12]) != mac {
		return 0, 0, false, false
	}
	be := binary.BigEndian
	switch be.Uint16(f[12:]) {
	case EtherARP:
		a := f[14:]
		if len(a) < 28 || be.Uint16(a[0:]) != 1 || be.Uint16(a[2:]) != EtherIPv4 || a[4] != 6 || a[5] != 4 ||
			[6]byte(a[8:14]) != mac || [4]byte(a[14:18]) != l.Addr {
			return 0, 0, false, false
		}
		return TableARP, uint64(EtherARP)<<24 | uint64(be.Uint16(a[6:])), false, true
	case EtherIPv4:
	default:
		return 0, 0, false, false
	}
	ip := f[14:]
	if len(ip) < 20 || ip[0]>>4 != 4 {
		return 0, 0, false, false
	}
	ihl := int(ip[0]&15) * 4
	total := int(be.Uint16(ip[2:]))
	if ihl < 20 || total < ihl || total > len(ip) || [4]byte(ip[12:16]) != l.Addr {
		return 0, 0, false, false
	}
	proto := ip[9]
	switch proto {
	case ProtoICMP:
		ti = TableICMP
	case ProtoTCP:
		ti = TableTCP
	case ProtoUDP:
		ti = TableUDP
	default:
		return 0, 0, false, false
	}
	base := uint64(EtherIPv4)<<24 | uint64(proto)<<16
	if be.Uint16(ip[6:])&0x1fff != 0 {
		return ti, base, true, true
	}
	l4 := ip[ihl:total]
	switch {
	case proto == ProtoICMP && len(l4) >= 1:
		return ti, base | uint64(l4[0]), false, true
	case proto != ProtoICMP && len(l4) >= 4:
		return ti, base | uint64(be.Uint16(l4[0:])), false, true
	}
	return 0, 0, false, false
}

// Claims reports whether a binding of guard [lo, hi] in table ti may send
// a frame Source named (sti, name, whole): in ARP and ICMP any frame of
// the guard's table (an echo request guard answers with echo replies,
// another type); in TCP and UDP only from the guard's own ports, and a
// later fragment only under a whole-table guard.
func Claims(ti int, lo, hi uint64, sti int, name uint64, whole bool) bool {
	if ti != sti {
		return false
	}
	switch ti {
	case TableARP, TableICMP:
		return true
	}
	g := abi.GuardTables[ti]
	if whole {
		return lo == g.Lo && hi == g.Hi
	}
	return name >= lo && name <= hi
}
