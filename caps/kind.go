package caps

import (
	"fmt"
	"strings"
)

// Kind names the class of resource a capability is for. It decides what the
// name range means and which rights bits exist.
type Kind uint8

// The kinds. Zero is no kind, so that an all-zero buffer never parses.
// Numbers are part of the format and are never reused; 5 (packet filter),
// 6 (application-specific handler) and 7 (IPC endpoint) are reserved for the
// kinds the network and IPC work will add, and are refused until then.
const (
	KindPage Kind = 1 // physical page numbers (physical address >> 12)
	KindSlot Kind = 2 // indexes into the scheduler's slot vector
	KindEnv  Kind = 3 // environment ids
	KindPort Kind = 4 // network namespace: packed (ethertype, IP protocol, port), see PortName
)

// Rights is a set of rights bits. The same bit means different things for
// different kinds; the kinds table says what.
type Rights uint32

// Page rights.
const (
	PageRead  Rights = 1 << 0 // map the page readable
	PageWrite Rights = 1 << 1 // map the page writable
	PageExec  Rights = 1 << 2 // map the page executable
	// PageRevoke: revoke the pages (SysRevoke): every capability for them
	// minted before stops verifying, and other environments' mappings of
	// them are undone.
	PageRevoke Rights = 1 << 3
)

// Slot rights.
const (
	SlotUse    Rights = 1 << 0 // run in the slot (own it in the slot vector)
	SlotRevoke Rights = 1 << 1 // revoke the slots: their capabilities die, another owner loses them
)

// Env rights.
const (
	EnvControl Rights = 1 << 0 // stop, resume, kill the environment, read its state
	EnvSend    Rights = 1 << 1 // make a protected control transfer to it
	EnvSpawn   Rights = 1 << 2 // create environments on its behalf (SysSpawn)
	EnvRevoke  Rights = 1 << 3 // revoke the env's capabilities
)

// Port rights.
const (
	PortReceive Rights = 1 << 0 // bind a filter over the names: receive their frames
	PortSend    Rights = 1 << 1 // transmit frames with these names as source
	// PortRevoke: revoke the names (SysRevoke): every capability for them
	// minted before stops verifying, and every filter bound under them is
	// unbound.
	PortRevoke Rights = 1 << 2
)

// kindInfo is one row of the kinds table.
type kindInfo struct {
	name    string
	maxName uint64   // the largest name that exists
	rights  []string // rights[i] names bit i; the kind has exactly these bits
}

// kinds is the one table of kinds and their rights. Parse, Mint, Derive and
// the documentation (docs/CAPABILITIES.md) all follow it.
var kinds = [...]kindInfo{
	KindPage: {"page", 1<<44 - 1, []string{"read", "write", "exec", "revoke"}}, // Sv39/Sv48 PPNs are 44 bits
	KindSlot: {"slot", 1<<32 - 1, []string{"use", "revoke"}},
	KindEnv:  {"env", 1<<32 - 1, []string{"control", "send", "spawn", "revoke"}},
	KindPort: {"port", 1<<40 - 1, []string{"receive", "send", "revoke"}},
}

// numKinds bounds the Kind values the table has rows for.
const numKinds = len(kinds)

// Valid reports whether k is a kind this version knows.
func (k Kind) Valid() bool { return int(k) < numKinds && kinds[k].name != "" }

// String returns the kind's name, such as "page".
func (k Kind) String() string {
	if k.Valid() {
		return kinds[k].name
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// All returns every right kind k has (zero for an unknown kind).
func (k Kind) All() Rights {
	if !k.Valid() {
		return 0
	}
	return Rights(1)<<len(kinds[k].rights) - 1
}

// MaxName returns the largest name of kind k (zero for an unknown kind).
func (k Kind) MaxName() uint64 {
	if !k.Valid() {
		return 0
	}
	return kinds[k].maxName
}

// Format returns the rights as names for kind k, such as "read|write"; bits
// the kind does not have are shown in hex.
func (r Rights) Format(k Kind) string {
	if r == 0 {
		return "none"
	}
	var names []string
	if k.Valid() {
		for i, n := range kinds[k].rights {
			if r&(1<<i) != 0 {
				names = append(names, n)
			}
		}
	}
	if extra := r &^ k.All(); extra != 0 {
		names = append(names, fmt.Sprintf("%#x", uint32(extra)))
	}
	return strings.Join(names, "|")
}

// PortName packs a network name for KindPort: ethertype in bits 24-39, IP
// protocol number in bits 16-23, transport port in bits 0-15. Packing the
// outer protocol highest makes every prefix a range: all UDP over IPv4 is
// [PortName(0x0800, 17, 0), PortName(0x0800, 17, 0xffff)], all of ARP is
// [PortName(0x0806, 0, 0), PortName(0x0806, 0xff, 0xffff)].
func PortName(ethertype uint16, proto uint8, port uint16) uint64 {
	return uint64(ethertype)<<24 | uint64(proto)<<16 | uint64(port)
}

// SplitPortName undoes PortName.
func SplitPortName(name uint64) (ethertype uint16, proto uint8, port uint16) {
	return uint16(name >> 24), uint8(name >> 16), uint16(name)
}
