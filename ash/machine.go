package ash

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Input is the data one run sees. Slices are used in place: the program
// reads Packet and may write Reply and Msg.
type Input struct {
	// Packet is the captured frame (filter, ASH).
	Packet []byte
	// WireLen is the frame's length on the wire, which may exceed
	// len(Packet) for a truncated capture; 0 means len(Packet). The program
	// sees it as the context field len.
	WireLen int
	// Reply is the reply buffer (ASH); at least Config.ReplySize bytes.
	Reply []byte
	// Msg is the env's registered message buffer (ASH); at least
	// Config.MsgSize bytes.
	Msg []byte
	// Mem is the env memory window (predicate); at least Config.MemSize.
	Mem []byte
	// Counters is the kernel counter block (predicate); at least
	// Config.CountersSize bytes.
	Counters []byte
}

// Result is the outcome of a run.
type Result struct {
	// R0 is the program's return value.
	R0 uint64
	// ReplyLen is the length passed to the last send_reply call, or -1 if
	// the program did not call it. The kernel transmits Reply[:ReplyLen].
	ReplyLen int
	// Steps is the number of instructions executed.
	Steps int
}

// Machine holds the state of one execution: registers, stack and regions.
// It is reused across runs so that Run does not allocate; use one Machine
// per CPU (it is not safe for concurrent use).
type Machine struct {
	mem      [numRegions][]byte
	writable [numRegions]bool
	stack    [StackSize]byte
	ctx      [CtxSize]byte
	replyLen int
	// stackFill is the byte the stack is filled with before each run (0 in
	// production). The fuzz tests run programs twice with different fills:
	// a verified program cannot read stack it did not write, so its results
	// must not depend on the fill.
	stackFill byte
}

// NewMachine returns a Machine ready to run programs.
func NewMachine() *Machine { return &Machine{} }

func addr(r region, off int) uint64 { return uint64(r)<<regionShift | uint64(off) }

// setup points the machine's regions at in and fills the context.
func (m *Machine) setup(p *Program, in *Input) error {
	c := &p.cfg
	wire := in.WireLen
	if wire == 0 {
		wire = len(in.Packet)
	}
	switch {
	case len(in.Packet) > MaxPacketLen:
		return fmt.Errorf("ash: run: packet of %d bytes exceeds %d", len(in.Packet), MaxPacketLen)
	case wire < len(in.Packet) || wire > math.MaxUint32:
		return fmt.Errorf("ash: run: wire length %d is below the captured %d bytes or above 2^32-1", wire, len(in.Packet))
	case len(in.Reply) < c.ReplySize, len(in.Msg) < c.MsgSize, len(in.Mem) < c.MemSize, len(in.Counters) < c.CountersSize:
		return fmt.Errorf("ash: run: input regions smaller than the verified configuration")
	}
	// Only the regions the program type may use are mapped, at exactly the
	// verified sizes, so nothing else is reachable even through a verifier bug.
	m.mem = [numRegions][]byte{}
	m.mem[regCtx] = m.ctx[:]
	m.mem[regStack] = m.stack[:]
	t := c.Type
	if t != TypePredicate {
		m.mem[regPacket] = in.Packet
	}
	if t == TypeASH {
		m.mem[regReply] = in.Reply[:c.ReplySize]
		m.mem[regMsg] = in.Msg[:c.MsgSize]
	}
	if t == TypePredicate {
		m.mem[regMem] = in.Mem[:c.MemSize]
		m.mem[regCounters] = in.Counters[:c.CountersSize]
	}
	for r := range m.writable {
		m.writable[r] = writable(t, region(r))
	}
	le := binary.LittleEndian
	for i := range m.ctx {
		m.ctx[i] = 0
	}
	for off, f := range ctxTable {
		if !f.allowed(t) {
			continue
		}
		switch {
		case f.reg == regNone:
			le.PutUint64(m.ctx[off*8:], uint64(wire))
		case f.isEnd:
			le.PutUint64(m.ctx[off*8:], addr(f.reg, len(m.mem[f.reg])))
		default:
			le.PutUint64(m.ctx[off*8:], addr(f.reg, 0))
		}
	}
	// Zeroed so that no run can observe another's stack, even through a
	// verifier bug.
	if m.stackFill == 0 {
		m.stack = [StackSize]byte{}
	} else {
		for i := range m.stack {
			m.stack[i] = m.stackFill
		}
	}
	m.replyLen = -1
	return nil
}

// ctxTable is ctxFields indexed by word, for an allocation-free setup.
var ctxTable = func() [CtxSize / 8]ctxField {
	var t [CtxSize / 8]ctxField
	for off, f := range ctxFields {
		t[off/8] = f
	}
	return t
}()

// mem returns the n bytes at virtual address a, or nil if they are not all
// inside one mapped region (or the region is read-only and write is set).
func (m *Machine) bytes(a uint64, n uint64, write bool) []byte {
	r := a >> regionShift
	if r >= uint64(numRegions) {
		return nil
	}
	b := m.mem[r]
	off := a & (1<<regionShift - 1)
	if off+n > uint64(len(b)) || (write && !m.writable[r]) {
		return nil
	}
	return b[off : off+n]
}

// span is bytes for the helpers, whose lengths may be zero: ok reports
// whether [a, a+n) lies inside one mapped region, which for n = 0 includes
// the address one past its end. (bytes returns nil for an empty slice of an
// empty region, which must not read as a failure.)
func (m *Machine) span(a uint64, n uint64, write bool) ([]byte, bool) {
	r := a >> regionShift
	if r >= uint64(numRegions) || r == uint64(regNone) {
		return nil, false
	}
	b := m.mem[r]
	off := a & (1<<regionShift - 1)
	if off > uint64(len(b)) || n > uint64(len(b))-off || (write && !m.writable[r]) {
		return nil, false
	}
	return b[off : off+n], true
}

func (m *Machine) fault(pc int, format string, args ...any) error {
	return &RunError{PC: pc, Reason: fmt.Sprintf(format, args...)}
}

// Filter runs a filter program on a packet and reports whether it accepts.
func (m *Machine) Filter(p *Program, packet []byte) (bool, error) {
	in := Input{Packet: packet}
	res, err := m.Run(p, &in)
	return res.R0 != 0, err
}
