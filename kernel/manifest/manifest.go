// Package manifest parses the boot manifest: the text that tells the kernel
// which environments to start, with how much memory and how many time slots,
// and how long a slot is. The firmware embeds a default; QEMU's generic
// loader can put another at the board's manifest address to choose a test
// scenario without rebuilding.
//
//	exo-manifest v1
//	# comments and blank lines are ignored
//	quantum 5ms          # slot length, 100us..1s (default 10ms)
//	slots 32             # slot vector length, 1..64 (default 32)
//	env hello
//	env testenv mem=32M slots=2 arg="spin 3"
//	net address=198.18.0.2/24 # the machine's IPv4 address (net.go)
//	net env=testenv guards=icmp-echo,udp:7
//
// Each env line names an image embedded in the firmware and optionally sets
// its memory (mem=, a multiple of 4K with K, M or G suffix), spare frames
// it holds unmapped (spare=, the same syntax: what it gives children), its
// number of slots (slots=), a quoted argument string (arg=, Go string
// syntax) that the environment reads from its start-up block, and whether
// it may create environments (spawn=yes, or spawn=N: its env capability
// carries the spawn right, and its descendants may number N at once, 16
// for yes).
package manifest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exo-os/exo/kernel/abi"
)

// Magic is the first line of every manifest.
const Magic = "exo-manifest v1"

// Limits and defaults.
const (
	MaxEnvs        = 32
	MaxSize        = 16 << 10 // bytes of manifest text
	DefaultQuantum = 10 * time.Millisecond
	MinQuantum     = 100 * time.Microsecond
	MaxQuantum     = time.Second
	DefaultSlots   = 32
	DefaultMem     = 16 << 20
	MinMem         = 1 << 20
	MaxSpare       = 4 << 30
	DefaultEnvSlot = 1
	// DefaultEnvs is spawn=yes's share of env ids.
	DefaultEnvs = 16
	// MaxSpawn bounds spawn=N.
	MaxSpawn = 4000
)

// Env is one environment to start.
type Env struct {
	Image string
	Mem   uint64
	// Spare is the bytes of frames it holds beyond its memory, mapped
	// nowhere: what it may give children or map itself.
	Spare uint64
	Slots int
	Arg   string
	// Spawn allows the environment to create environments, and Envs is
	// how many descendants it may have at once (children, theirs, ...).
	Spawn bool
	Envs  int
	Line  int
}

// Manifest is a parsed boot manifest.
type Manifest struct {
	Quantum time.Duration
	Slots   int
	Envs    []Env
	// Net is the network configuration (net lines, net.go).
	Net Net
}

// Error is a parse error at a line.
type Error struct {
	Line   int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("manifest line %d: %s", e.Line, e.Reason) }

// Parse reads a manifest. It accepts nothing it does not understand: an
// unknown directive or key, a duplicate setting, or a value out of range is
// an error naming the line.
func Parse(text string) (*Manifest, error) {
	if len(text) > MaxSize {
		return nil, &Error{0, fmt.Sprintf("manifest is %d bytes, more than %d", len(text), MaxSize)}
	}
	m := &Manifest{Quantum: DefaultQuantum, Slots: DefaultSlots}
	seen := map[string]bool{}
	var grants []pendingGrant
	lines := strings.Split(text, "\n")
	magic := false
	for i, raw := range lines {
		n := i + 1
		line := strings.TrimSpace(stripComment(raw))
		if line == "" {
			continue
		}
		if !magic {
			if line != Magic {
				return nil, &Error{n, fmt.Sprintf("first line must be %q", Magic)}
			}
			magic = true
			continue
		}
		fields, err := split(line)
		if err != nil {
			return nil, &Error{n, err.Error()}
		}
		switch dir := fields[0]; dir {
		case "quantum", "slots":
			if seen[dir] {
				return nil, &Error{n, dir + " set twice"}
			}
			seen[dir] = true
			if len(fields) != 2 {
				return nil, &Error{n, dir + " takes one value"}
			}
			if dir == "quantum" {
				d, err := time.ParseDuration(fields[1])
				if err != nil || d < MinQuantum || d > MaxQuantum {
					return nil, &Error{n, fmt.Sprintf("quantum %q: want a duration from %v to %v", fields[1], MinQuantum, MaxQuantum)}
				}
				m.Quantum = d
			} else {
				s, err := strconv.Atoi(fields[1])
				if err != nil || s < 1 || s > abi.MaxSlots {
					return nil, &Error{n, fmt.Sprintf("slots %q: want 1..%d", fields[1], abi.MaxSlots)}
				}
				m.Slots = s
			}
		case "env":
			e, err := parseEnv(fields[1:])
			if err != nil {
				return nil, &Error{n, err.Error()}
			}
			if len(m.Envs) == MaxEnvs {
				return nil, &Error{n, fmt.Sprintf("more than %d environments", MaxEnvs)}
			}
			e.Line = n
			m.Envs = append(m.Envs, e)
		case "net":
			if err := m.parseNet(fields[1:], n, &grants); err != nil {
				return nil, &Error{n, err.Error()}
			}
		default:
			return nil, &Error{n, fmt.Sprintf("unknown directive %q (want quantum, slots, env or net)", dir)}
		}
	}
	if !magic {
		return nil, &Error{1, fmt.Sprintf("empty manifest (first line must be %q)", Magic)}
	}
	if len(m.Envs) == 0 {
		return nil, &Error{len(lines), "no env lines: nothing to run"}
	}
	total := 0
	for _, e := range m.Envs {
		total += e.Slots
	}
	if total > m.Slots {
		return nil, &Error{m.Envs[len(m.Envs)-1].Line, fmt.Sprintf("environments want %d slots, the vector has %d", total, m.Slots)}
	}
	if err := m.resolveGrants(grants); err != nil {
		return nil, err
	}
	return m, nil
}

func stripComment(s string) string {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if inQuote {
				i++
			}
		case '"':
			inQuote = !inQuote
		case '#':
			if !inQuote {
				return s[:i]
			}
		}
	}
	return s
}

// split breaks a line into fields at spaces outside double quotes.
func split(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && inQuote && i+1 < len(line):
			cur.WriteByte(c)
			i++
			cur.WriteByte(line[i])
		case c == '"':
			inQuote = !inQuote
			cur.WriteByte(c)
		case (c == ' ' || c == '\t') && !inQuote:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		case c < 0x20 || c == 0x7f:
			return nil, fmt.Errorf("control character %#x", c)
		default:
			cur.WriteByte(c)
		}
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quote")
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}

func parseEnv(f []string) (Env, error) {
	if len(f) == 0 {
		return Env{}, fmt.Errorf("env needs an image name")
	}
	e := Env{Image: f[0], Mem: DefaultMem, Slots: DefaultEnvSlot}
	if !validName(e.Image) {
		return e, fmt.Errorf("image name %q: want letters, digits, '-' or '_', at most 31", e.Image)
	}
	seen := map[string]bool{}
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return e, fmt.Errorf("%q: want key=value", kv)
		}
		if seen[k] {
			return e, fmt.Errorf("%s set twice", k)
		}
		seen[k] = true
		switch k {
		case "mem":
			n, err := ParseSize(v)
			if err != nil {
				return e, fmt.Errorf("mem: %v", err)
			}
			if n < MinMem || n > abi.MaxRAM {
				return e, fmt.Errorf("mem=%s: want %dM to %dM", v, MinMem>>20, abi.MaxRAM>>20)
			}
			e.Mem = n
		case "slots":
			s, err := strconv.Atoi(v)
			if err != nil || s < 1 || s > abi.MaxSlots {
				return e, fmt.Errorf("slots=%s: want 1..%d", v, abi.MaxSlots)
			}
			e.Slots = s
		case "arg":
			s, err := strconv.Unquote(v)
			if err != nil || !strings.HasPrefix(v, `"`) {
				return e, fmt.Errorf("arg=%s: want a double-quoted string", v)
			}
			if len(s) > abi.MaxArg {
				return e, fmt.Errorf("arg is %d bytes, at most %d", len(s), abi.MaxArg)
			}
			e.Arg = s
		case "spare":
			n, err := ParseSize(v)
			if err != nil {
				return e, fmt.Errorf("spare: %v", err)
			}
			if n > MaxSpare {
				return e, fmt.Errorf("spare=%s: at most %dM", v, MaxSpare>>20)
			}
			e.Spare = n
		case "spawn":
			switch v {
			case "yes":
				e.Spawn, e.Envs = true, DefaultEnvs
			case "no":
			default:
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > MaxSpawn {
					return e, fmt.Errorf("spawn=%s: want yes, no, or a number of environments 1..%d", v, MaxSpawn)
				}
				e.Spawn, e.Envs = true, n
			}
		default:
			return e, fmt.Errorf("unknown key %q (want mem, spare, slots, arg or spawn)", k)
		}
	}
	return e, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 31 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ParseSize reads a byte count with an optional K, M or G suffix (powers of
// two) that is a multiple of the page size.
func ParseSize(s string) (uint64, error) {
	mult := uint64(1)
	num := s
	switch {
	case strings.HasSuffix(s, "K"):
		mult, num = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, num = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "G"):
		mult, num = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseUint(num, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	v := n * mult
	if v%abi.PageSize != 0 {
		return 0, fmt.Errorf("%q is not a multiple of %d", s, abi.PageSize)
	}
	return v, nil
}
