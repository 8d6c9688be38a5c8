// Package fdt reads the memory map out of a flattened device tree
// (Devicetree Specification v0.4, chapter 5): the /memory nodes' reg
// properties, decoded with the root's #address-cells and #size-cells. Every
// offset and length in the blob is checked before use; a malformed tree is
// an error, never a crash.
package fdt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Magic is the first word of every flattened device tree.
const Magic = 0xd00dfeed

// MaxSize bounds the trees this package reads.
const MaxSize = 1 << 20

// Structure block tokens (§5.4.1).
const (
	tokBeginNode = 1
	tokEndNode   = 2
	tokProp      = 3
	tokNop       = 4
	tokEnd       = 9
)

// Region is a range of physical memory.
type Region struct {
	Base, Size uint64
}

// ErrNoMemory is returned for a tree without a usable /memory node.
var ErrNoMemory = errors.New("fdt: no memory node")

// Size returns the total size the header declares, after checking the
// magic; it lets a caller know how much to read before calling Memory.
func Size(header []byte) (int, error) {
	if len(header) < 8 || binary.BigEndian.Uint32(header) != Magic {
		return 0, errors.New("fdt: no device tree magic")
	}
	n := binary.BigEndian.Uint32(header[4:])
	if n < 40 || n > MaxSize {
		return 0, fmt.Errorf("fdt: total size %d out of range", n)
	}
	return int(n), nil
}

// Memory returns the regions of every /memory node, in tree order.
func Memory(b []byte) ([]Region, error) {
	n, err := Size(b)
	if err != nil {
		return nil, err
	}
	if len(b) < n {
		return nil, fmt.Errorf("fdt: blob is %d bytes, header says %d", len(b), n)
	}
	b = b[:n]
	be := binary.BigEndian
	offStruct, offStrings := be.Uint32(b[8:]), be.Uint32(b[12:])
	version := be.Uint32(b[20:])
	sizeStrings, sizeStruct := be.Uint32(b[32:]), be.Uint32(b[36:])
	if version < 17 {
		return nil, fmt.Errorf("fdt: version %d, need 17", version)
	}
	if uint64(offStruct)+uint64(sizeStruct) > uint64(n) || uint64(offStrings)+uint64(sizeStrings) > uint64(n) || offStruct%4 != 0 {
		return nil, errors.New("fdt: structure or strings block outside the blob")
	}
	st := b[offStruct : offStruct+sizeStruct]
	strs := b[offStrings : offStrings+sizeStrings]

	addrCells, sizeCells := uint32(2), uint32(1) // defaults, §2.3.5
	var regions []Region
	var path []string
	var memReg []byte // reg of the memory node being read
	memType := false
	for off := 0; ; {
		if off+4 > len(st) {
			return nil, errors.New("fdt: structure block ends without an end token")
		}
		tok := be.Uint32(st[off:])
		off += 4
		switch tok {
		case tokBeginNode:
			end := indexNUL(st[off:])
			if end < 0 {
				return nil, errors.New("fdt: unterminated node name")
			}
			name := string(st[off : off+end])
			off = align4(off + end + 1)
			if len(path) > 64 {
				return nil, errors.New("fdt: nodes nested too deeply")
			}
			path = append(path, name)
			memReg, memType = nil, false
		case tokEndNode:
			if len(path) == 0 {
				return nil, errors.New("fdt: end of a node that was not begun")
			}
			if len(path) == 2 && isMemoryNode(path[1], memType) && memReg != nil {
				rs, err := decodeReg(memReg, addrCells, sizeCells)
				if err != nil {
					return nil, fmt.Errorf("fdt: /%s: %w", path[1], err)
				}
				regions = append(regions, rs...)
			}
			path = path[:len(path)-1]
		case tokProp:
			if off+8 > len(st) {
				return nil, errors.New("fdt: truncated property")
			}
			plen, nameOff := be.Uint32(st[off:]), be.Uint32(st[off+4:])
			off += 8
			if uint64(off)+uint64(plen) > uint64(len(st)) {
				return nil, errors.New("fdt: property runs past the structure block")
			}
			val := st[off : off+int(plen)]
			off = align4(off + int(plen))
			if int(nameOff) >= len(strs) {
				return nil, errors.New("fdt: property name outside the strings block")
			}
			end := indexNUL(strs[nameOff:])
			if end < 0 {
				return nil, errors.New("fdt: unterminated property name")
			}
			name := string(strs[nameOff : int(nameOff)+end])
			switch {
			case len(path) == 1 && (name == "#address-cells" || name == "#size-cells"):
				if len(val) != 4 || be.Uint32(val) > 2 {
					return nil, fmt.Errorf("fdt: root %s must be one cell of at most 2", name)
				}
				if name == "#address-cells" {
					addrCells = be.Uint32(val)
				} else {
					sizeCells = be.Uint32(val)
				}
			case len(path) == 2 && name == "reg":
				memReg = val
			case len(path) == 2 && name == "device_type":
				memType = string(val) == "memory\x00"
			}
		case tokNop:
		case tokEnd:
			if len(path) != 0 {
				return nil, errors.New("fdt: end token inside a node")
			}
			if len(regions) == 0 {
				return nil, ErrNoMemory
			}
			return regions, nil
		default:
			return nil, fmt.Errorf("fdt: unknown token %#x at offset %d", tok, off-4)
		}
	}
}

func isMemoryNode(name string, typed bool) bool {
	return typed || name == "memory" || strings.HasPrefix(name, "memory@")
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

func align4(n int) int { return (n + 3) &^ 3 }

func decodeReg(v []byte, ac, sc uint32) ([]Region, error) {
	cell := int(4 * (ac + sc))
	if ac == 0 || sc == 0 || len(v) == 0 || len(v)%cell != 0 {
		return nil, fmt.Errorf("reg of %d bytes does not hold (%d, %d)-cell entries", len(v), ac, sc)
	}
	var out []Region
	for i := 0; i < len(v); i += cell {
		base := cells(v[i:], ac)
		size := cells(v[i+4*int(ac):], sc)
		if base+size < base {
			return nil, fmt.Errorf("region %#x+%#x wraps around", base, size)
		}
		out = append(out, Region{base, size})
	}
	return out, nil
}

func cells(b []byte, n uint32) uint64 {
	var v uint64
	for i := 0; i < int(n); i++ {
		v = v<<32 | uint64(binary.BigEndian.Uint32(b[4*i:]))
	}
	return v
}

// Contiguous returns the size of memory that starts at base and continues
// without a gap through the regions, or 0 if no region starts at base.
func Contiguous(regions []Region, base uint64) uint64 {
	end := base
	for changed := true; changed; {
		changed = false
		for _, r := range regions {
			if r.Base <= end && r.Base+r.Size > end {
				end = r.Base + r.Size
				changed = true
			}
		}
	}
	return end - base
}
