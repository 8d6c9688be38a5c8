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
	// verified sizes, so nothing else is reachable even through a verifier
	// bug. The stack region is only the part the program uses, cleared, so
	// that no run can observe another's stack, even through a verifier bug;
	// r10 points at its end.
	m.mem = [numRegions][]byte{}
	m.mem[regCtx] = m.ctx[:]
	d := p.stackDepth
	stack := m.stack[:d]
	if m.stackFill == 0 {
		clear(stack)
	} else {
		for i := range stack {
			stack[i] = m.stackFill
		}
	}
	m.mem[regStack] = stack
	m.ctx = [CtxSize]byte{}
	le := binary.LittleEndian
	switch c.Type {
	case TypeFilter, TypeASH:
		m.mem[regPacket] = in.Packet
		le.PutUint64(m.ctx[CtxData:], addr(regPacket, 0))
		le.PutUint64(m.ctx[CtxDataEnd:], addr(regPacket, len(in.Packet)))
		le.PutUint64(m.ctx[CtxLen:], uint64(wire))
		if c.Type == TypeASH {
			m.mem[regReply] = in.Reply[:c.ReplySize]
			m.mem[regMsg] = in.Msg[:c.MsgSize]
			le.PutUint64(m.ctx[CtxReply:], addr(regReply, 0))
			le.PutUint64(m.ctx[CtxReplyEnd:], addr(regReply, c.ReplySize))
			le.PutUint64(m.ctx[CtxMsg:], addr(regMsg, 0))
			le.PutUint64(m.ctx[CtxMsgEnd:], addr(regMsg, c.MsgSize))
		}
	case TypePredicate:
		m.mem[regMem] = in.Mem[:c.MemSize]
		m.mem[regCounters] = in.Counters[:c.CountersSize]
		le.PutUint64(m.ctx[CtxMem:], addr(regMem, 0))
		le.PutUint64(m.ctx[CtxMemEnd:], addr(regMem, c.MemSize))
		le.PutUint64(m.ctx[CtxCounters:], addr(regCounters, 0))
		le.PutUint64(m.ctx[CtxCountersEnd:], addr(regCounters, c.CountersSize))
	}
	m.writable = writableTable[c.Type]
	m.replyLen = -1
	return nil
}

// writableTable is writable() for each program type, for setup.
var writableTable = func() (t [TypePredicate + 1][numRegions]bool) {
	for typ := TypeFilter; typ <= TypePredicate; typ++ {
		for r := range t[typ] {
			t[typ][r] = writable(typ, region(r))
		}
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
