// Package mmiotest provides a register model that stands in for hardware in
// host tests of Exo's drivers.
package mmiotest

import (
	"fmt"
	"sort"
	"strings"
)

// Access records one register access made through a Model.
type Access struct {
	Write bool
	Addr  uintptr
	Width int // bytes
	Value uint64
}

func (a Access) String() string {
	op := "R"
	if a.Write {
		op = "W"
	}
	return fmt.Sprintf("%s%d %#x=%#x", op, a.Width*8, a.Addr, a.Value)
}

// Model is a sparse register file implementing mmio.Bus. Registers hold what
// was last written unless a hook says otherwise. Every access is checked
// against the widths the model allows at that address, so a driver that uses
// byte accesses on a device that needs 32-bit ones fails its test.
type Model struct {
	regs  map[uintptr]uint64
	width map[uintptr]int // required access width per register; 0 = any
	// OnRead, if set for an address, supplies the value a read returns.
	OnRead map[uintptr]func() uint64
	// OnWrite, if set for an address, is called after a write is stored.
	OnWrite map[uintptr]func(v uint64)
	// Log is every access in order.
	Log []Access
	// Errors collects protocol violations (wrong width, unknown address).
	Errors []string
	strict bool
}

// New returns an empty model. In a strict model, an access to an address
// that was never declared with Reg is recorded as an error.
func New(strict bool) *Model {
	return &Model{
		regs:    map[uintptr]uint64{},
		width:   map[uintptr]int{},
		OnRead:  map[uintptr]func() uint64{},
		OnWrite: map[uintptr]func(v uint64){},
		strict:  strict,
	}
}

// Reg declares a register at addr that must be accessed with width bytes
// (1, 2, 4 or 8), holding the initial value v.
func (m *Model) Reg(addr uintptr, width int, v uint64) {
	m.width[addr] = width
	m.regs[addr] = v
}

// Set stores v in the register at addr without logging an access.
func (m *Model) Set(addr uintptr, v uint64) { m.regs[addr] = v }

// Get returns the register at addr without logging an access.
func (m *Model) Get(addr uintptr) uint64 { return m.regs[addr] }

// Writes returns the values written to addr, in order.
func (m *Model) Writes(addr uintptr) []uint64 {
	var out []uint64
	for _, a := range m.Log {
		if a.Write && a.Addr == addr {
			out = append(out, a.Value)
		}
	}
	return out
}

// Touched returns the sorted set of addresses accessed.
func (m *Model) Touched() []uintptr {
	seen := map[uintptr]bool{}
	for _, a := range m.Log {
		seen[a.Addr] = true
	}
	out := make([]uintptr, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Err returns the protocol violations as one error, or nil.
func (m *Model) Err() error {
	if len(m.Errors) == 0 {
		return nil
	}
	return fmt.Errorf("register model: %s", strings.Join(m.Errors, "; "))
}

func (m *Model) check(addr uintptr, width int) {
	w, ok := m.width[addr]
	if !ok {
		if m.strict {
			m.Errors = append(m.Errors, fmt.Sprintf("access to undeclared register %#x", addr))
		}
		return
	}
	if w != 0 && w != width {
		m.Errors = append(m.Errors, fmt.Sprintf("%d-bit access to %#x, which needs %d-bit accesses", width*8, addr, w*8))
	}
}

func (m *Model) read(addr uintptr, width int) uint64 {
	m.check(addr, width)
	v := m.regs[addr]
	if f := m.OnRead[addr]; f != nil {
		v = f()
	}
	m.Log = append(m.Log, Access{Addr: addr, Width: width, Value: v})
	return v
}

func (m *Model) write(addr uintptr, width int, v uint64) {
	m.check(addr, width)
	m.regs[addr] = v
	m.Log = append(m.Log, Access{Write: true, Addr: addr, Width: width, Value: v})
	if f := m.OnWrite[addr]; f != nil {
		f(v)
	}
}

// Read8 implements mmio.Bus.
func (m *Model) Read8(addr uintptr) uint8 { return uint8(m.read(addr, 1)) }

// Write8 implements mmio.Bus.
func (m *Model) Write8(addr uintptr, v uint8) { m.write(addr, 1, uint64(v)) }

// Read16 implements mmio.Bus.
func (m *Model) Read16(addr uintptr) uint16 { return uint16(m.read(addr, 2)) }

// Write16 implements mmio.Bus.
func (m *Model) Write16(addr uintptr, v uint16) { m.write(addr, 2, uint64(v)) }

// Read32 implements mmio.Bus.
func (m *Model) Read32(addr uintptr) uint32 { return uint32(m.read(addr, 4)) }

// Write32 implements mmio.Bus.
func (m *Model) Write32(addr uintptr, v uint32) { m.write(addr, 4, uint64(v)) }

// Read64 implements mmio.Bus.
func (m *Model) Read64(addr uintptr) uint64 { return m.read(addr, 8) }

// Write64 implements mmio.Bus.
func (m *Model) Write64(addr uintptr, v uint64) { m.write(addr, 8, v) }
