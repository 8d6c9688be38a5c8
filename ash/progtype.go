package ash

import "fmt"

// ProgType says what a program is for; it decides which context fields,
// regions and helpers the program may use and what its return value means.
type ProgType uint8

// Program types.
const (
	// TypeFilter reads the packet and returns nonzero to accept it.
	TypeFilter ProgType = iota + 1
	// TypeASH reads the packet, may write the reply buffer and the
	// environment's message buffer and call the ASH helpers, and returns
	// RetConsumed, RetPass or RetWake.
	TypeASH
	// TypePredicate reads a window of the environment's memory and the
	// kernel's counter block and returns nonzero when the environment should
	// be woken.
	TypePredicate
)

// Return values of an ASH. Any value other than RetConsumed and RetWake
// passes the packet on, so that a confused handler fails towards delivery
// rather than loss.
const (
	RetConsumed = 0 // the ASH handled the packet; the env is not woken
	RetPass     = 1 // deliver the packet to the env's receive ring
	// RetWake: the ASH handled the packet (it is not copied to the ring),
	// and the env is woken as if a frame had reached its ring: a blocked
	// net_wait returns, and the next one returns at once. A handler that
	// delivered the data itself (into its message buffer) returns it.
	RetWake = 2
)

// String returns "filter", "ash" or "predicate".
func (t ProgType) String() string {
	switch t {
	case TypeFilter:
		return "filter"
	case TypeASH:
		return "ash"
	case TypePredicate:
		return "predicate"
	}
	return fmt.Sprintf("ProgType(%d)", uint8(t))
}

// Limits enforced by the verifier.
const (
	// MaxInsns is the largest program, in instruction slots.
	MaxInsns = 4096
	// StackSize is the size of the stack below R10.
	StackSize = 512
	// MaxPacketLen is the largest packet (and region) the machine accepts.
	MaxPacketLen = 65535
	// MaxVerifierSteps bounds the verifier's own work: instructions
	// symbolically executed over all explored paths.
	MaxVerifierSteps = 1 << 20
	// maxPtrOffset bounds the constant part of a pointer's offset, so that
	// pointer arithmetic cannot wrap into another region.
	maxPtrOffset = 1 << 20
	// maxVarOffset bounds the variable part of a pointer's offset.
	maxVarOffset = 1 << 20
)

// Config is what the kernel knows at bind time: the program type and the
// sizes of the fixed regions. Accesses to fixed regions are proven in bounds
// against these sizes; [Machine.Run] refuses regions smaller than them.
type Config struct {
	Type ProgType
	// ReplySize is the size of the ASH reply buffer (0: DefaultReplySize).
	ReplySize int
	// MsgSize is the size of the message buffer the env registered (ASH).
	MsgSize int
	// MemSize is the size of the env memory window a predicate reads.
	MemSize int
	// CountersSize is the size of the kernel counter block (0:
	// DefaultCountersSize).
	CountersSize int
	// MaxSteps bounds the verifier's work on this program, in symbolically
	// executed instructions (0: MaxVerifierSteps, also the largest): a
	// kernel that verifies with interrupts masked chooses how long that
	// may take.
	MaxSteps int
}

// DefaultReplySize is one full Ethernet frame without FCS.
const DefaultReplySize = 1514

// DefaultCountersSize is the size of the counter block this package
// documents (see the Counter* offsets).
const DefaultCountersSize = 64

func (c Config) withDefaults() (Config, error) {
	if c.Type < TypeFilter || c.Type > TypePredicate {
		return c, fmt.Errorf("ash: config: unknown program type %d", c.Type)
	}
	if c.Type == TypeASH && c.ReplySize == 0 {
		c.ReplySize = DefaultReplySize
	}
	if c.Type == TypePredicate && c.CountersSize == 0 {
		c.CountersSize = DefaultCountersSize
	}
	if c.MaxSteps == 0 {
		c.MaxSteps = MaxVerifierSteps
	}
	if c.MaxSteps < 0 || c.MaxSteps > MaxVerifierSteps {
		return c, fmt.Errorf("ash: config: MaxSteps %d outside [1, %d]", c.MaxSteps, MaxVerifierSteps)
	}
	for _, s := range []struct {
		name string
		v    int
	}{{"ReplySize", c.ReplySize}, {"MsgSize", c.MsgSize}, {"MemSize", c.MemSize}, {"CountersSize", c.CountersSize}} {
		if s.v < 0 || s.v > MaxPacketLen {
			return c, fmt.Errorf("ash: config: %s %d outside [0, %d]", s.name, s.v, MaxPacketLen)
		}
	}
	return c, nil
}
