package ash

// A program starts with R1 pointing at a read-only context and R10 at the top
// of its stack. The context is an array of 64-bit fields, laid out as this C
// struct (docs/BYTECODE.md, include file ash/testdata/c/exo_ash.h):
//
//	struct exo_ctx {
//		__u64 data, data_end, len;   // packet: filter, ASH
//		__u64 reply, reply_end;      // reply buffer: ASH
//		__u64 msg, msg_end;          // env message buffer: ASH
//		__u64 mem, mem_end;          // env memory window: predicate
//		__u64 counters, counters_end;// kernel counters: predicate
//	};
//
// Fields are read with 8-byte loads at exactly these offsets; loading a field
// gives a typed pointer (or, for len, a scalar) that the verifier tracks.
const (
	CtxData        = 0  // pointer to the first packet byte
	CtxDataEnd     = 8  // pointer one past the last captured packet byte
	CtxLen         = 16 // wire length of the packet (scalar, may exceed captured bytes)
	CtxReply       = 24 // pointer to the reply buffer
	CtxReplyEnd    = 32 // end of the reply buffer
	CtxMsg         = 40 // pointer to the env's message buffer
	CtxMsgEnd      = 48 // end of the message buffer
	CtxMem         = 56 // pointer to the env memory window
	CtxMemEnd      = 64 // end of the window
	CtxCounters    = 72 // pointer to the kernel counter block
	CtxCountersEnd = 80 // end of the counter block
	// CtxSize is the size of the context in bytes.
	CtxSize = 88
)

// Offsets in the counter block that the kernel fills for predicates, each a
// little-endian uint64. The kernel may append fields; programs see
// Config.CountersSize bytes.
const (
	CounterTime      = 0  // current time, in timer ticks
	CounterSlot      = 8  // index of the current scheduling slot
	CounterRxPackets = 16 // packets delivered to this env
	CounterTxPackets = 24 // packets this env sent
	CounterRxDropped = 32 // packets dropped because this env's ring was full
	CounterWakeups   = 40 // times this env has been woken
)

// region numbers memory areas a pointer may point into. In the interpreter a
// pointer is the 64-bit value region<<32 | offset, so pointers never reveal
// kernel addresses and every access can be bounds-checked against its region.
type region uint8

const (
	regNone region = iota
	regCtx
	regStack
	regPacket
	regReply
	regMsg
	regMem
	regCounters
	numRegions
)

const regionShift = 32

func (r region) String() string {
	return [...]string{"none", "context", "stack", "packet", "reply buffer", "message buffer", "env memory", "counters"}[r]
}

// ctxField describes one context field.
type ctxField struct {
	name  string
	reg   region // region the field points into (regNone: scalar)
	isEnd bool   // the field is the region's end pointer
	types []ProgType
}

var ctxFields = map[int]ctxField{
	CtxData:        {"data", regPacket, false, []ProgType{TypeFilter, TypeASH}},
	CtxDataEnd:     {"data_end", regPacket, true, []ProgType{TypeFilter, TypeASH}},
	CtxLen:         {"len", regNone, false, []ProgType{TypeFilter, TypeASH}},
	CtxReply:       {"reply", regReply, false, []ProgType{TypeASH}},
	CtxReplyEnd:    {"reply_end", regReply, true, []ProgType{TypeASH}},
	CtxMsg:         {"msg", regMsg, false, []ProgType{TypeASH}},
	CtxMsgEnd:      {"msg_end", regMsg, true, []ProgType{TypeASH}},
	CtxMem:         {"mem", regMem, false, []ProgType{TypePredicate}},
	CtxMemEnd:      {"mem_end", regMem, true, []ProgType{TypePredicate}},
	CtxCounters:    {"counters", regCounters, false, []ProgType{TypePredicate}},
	CtxCountersEnd: {"counters_end", regCounters, true, []ProgType{TypePredicate}},
}

func (f ctxField) allowed(t ProgType) bool {
	for _, x := range f.types {
		if x == t {
			return true
		}
	}
	return false
}

// writable says which regions a program type may store to.
func writable(t ProgType, r region) bool {
	switch r {
	case regStack:
		return true
	case regReply, regMsg:
		return t == TypeASH
	}
	return false
}
