package manifest

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
)

// Net lines give the machine its IPv4 address and environments their
// guards: the slices of the packet namespace they may bind (abi.NetBind).
//
//	net address=198.18.0.2/24
//	net env=echo guards=arp,icmp-echo,udp:7,udp:9000-9001
//
// env= names the image of exactly one env line, or IMAGE@N the N-th env
// line (from 1) that runs IMAGE. A guard is one of
//
//	arp              every ARP frame
//	icmp             every ICMP message;  icmp-echo: echo requests only
//	icmp:T           ICMP type T
//	udp, tcp         every port;  udp:P, udp:P-Q, tcp:P, tcp:P-Q  a port or a range
//
// Guards given to different environments, or twice to one, must not
// overlap: a frame has one receiver.

// Net is the machine's network configuration.
type Net struct {
	// Addr is the machine's IPv4 address and PrefixLen its prefix; the
	// zero Addr means none was given.
	Addr      netip.Addr
	PrefixLen int
	// Grants lists the guards each environment is given.
	Grants []Grant
}

// Grant is one net env= line.
type Grant struct {
	// Env is the index in Manifest.Envs of the environment given them.
	Env    int
	Guards []Guard
	Line   int
}

// Guard is a range of port names (caps.PortName), inside one of the
// kernel's guard tables (abi.GuardTables).
type Guard struct {
	Lo, Hi uint64
}

// maxGuards bounds the guards one environment is given.
const maxGuards = abi.MaxNetBinds

// ParseGuard reads one guard, as net lines spell it.
func ParseGuard(s string) (Guard, error) {
	table := func(name string) Guard {
		for _, t := range abi.GuardTables {
			if t.Name == name {
				return Guard{t.Lo, t.Hi}
			}
		}
		panic("manifest: no guard table " + name)
	}
	proto, arg, hasArg := strings.Cut(s, ":")
	switch {
	case s == "arp" || s == "icmp" || s == "udp" || s == "tcp":
		return table(s), nil
	case s == "icmp-echo":
		n := caps.PortName(0x0800, 1, 8)
		return Guard{n, n}, nil
	case hasArg && proto == "icmp":
		t, err := strconv.ParseUint(arg, 10, 8)
		if err != nil {
			return Guard{}, fmt.Errorf("guard %q: want an ICMP type 0..255", s)
		}
		n := caps.PortName(0x0800, 1, uint16(t))
		return Guard{n, n}, nil
	case hasArg && (proto == "udp" || proto == "tcp"):
		ip := uint8(17)
		if proto == "tcp" {
			ip = 6
		}
		los, his, isRange := strings.Cut(arg, "-")
		if !isRange {
			his = los
		}
		lo, err1 := strconv.ParseUint(los, 10, 16)
		hi, err2 := strconv.ParseUint(his, 10, 16)
		if err1 != nil || err2 != nil || lo > hi {
			return Guard{}, fmt.Errorf("guard %q: want %s:PORT or %s:LO-HI, ports 0..65535, LO <= HI", s, proto, proto)
		}
		return Guard{caps.PortName(0x0800, ip, uint16(lo)), caps.PortName(0x0800, ip, uint16(hi))}, nil
	}
	return Guard{}, fmt.Errorf("guard %q: want arp, icmp, icmp-echo, icmp:T, udp, udp:P[-Q], tcp or tcp:P[-Q]", s)
}

// String spells the guard as ParseGuard reads it.
func (g Guard) String() string {
	_, proto, lo := caps.SplitPortName(g.Lo)
	_, _, hi := caps.SplitPortName(g.Hi)
	for _, t := range abi.GuardTables {
		if g.Lo == t.Lo && g.Hi == t.Hi {
			return t.Name
		}
	}
	switch {
	case g.Lo>>24 == 0x0800 && proto == 1 && lo == 8 && hi == 8:
		return "icmp-echo"
	case g.Lo>>24 == 0x0800 && proto == 1:
		return fmt.Sprintf("icmp:%d", lo)
	}
	name := "udp"
	if proto == 6 {
		name = "tcp"
	}
	if lo == hi {
		return fmt.Sprintf("%s:%d", name, lo)
	}
	return fmt.Sprintf("%s:%d-%d", name, lo, hi)
}

// parseNet reads the fields after "net" into m.Net; env lines are
// resolved once the whole manifest is read (resolveGrants).
func (m *Manifest) parseNet(f []string, line int, pending *[]pendingGrant) error {
	kv := map[string]string{}
	for _, x := range f {
		k, v, ok := strings.Cut(x, "=")
		if !ok {
			return fmt.Errorf("%q: want key=value", x)
		}
		if _, dup := kv[k]; dup {
			return fmt.Errorf("%s set twice", k)
		}
		kv[k] = v
	}
	if a, ok := kv["address"]; ok {
		if len(kv) != 1 {
			return fmt.Errorf("net address= takes no other keys")
		}
		if m.Net.Addr.IsValid() {
			return fmt.Errorf("net address set twice")
		}
		p, err := netip.ParsePrefix(a)
		if err != nil || !p.Addr().Is4() || p.Bits() < 8 || p.Bits() > 30 {
			return fmt.Errorf("net address=%s: want an IPv4 address with a prefix length 8..30, such as 198.18.0.2/24", a)
		}
		m.Net.Addr, m.Net.PrefixLen = p.Addr(), p.Bits()
		return nil
	}
	img, ok1 := kv["env"]
	list, ok2 := kv["guards"]
	if !ok1 || !ok2 || len(kv) != 2 {
		return fmt.Errorf("want net address=A.B.C.D/N or net env=IMAGE guards=G1,G2,...")
	}
	g := pendingGrant{image: img, line: line}
	for _, s := range strings.Split(list, ",") {
		guard, err := ParseGuard(s)
		if err != nil {
			return err
		}
		g.guards = append(g.guards, guard)
	}
	if len(g.guards) > maxGuards {
		return fmt.Errorf("%d guards for env %s, at most %d", len(g.guards), img, maxGuards)
	}
	*pending = append(*pending, g)
	return nil
}

// pendingGrant is a net env= line before its env is found.
type pendingGrant struct {
	image  string
	guards []Guard
	line   int
}

// resolveGrants finds each grant's environment and refuses overlaps.
func (m *Manifest) resolveGrants(pending []pendingGrant) error {
	type given struct {
		g    Guard
		line int
	}
	var all []given
	for _, p := range pending {
		env, err := m.findEnv(p.image)
		if err != nil {
			return &Error{p.line, err.Error()}
		}
		for _, gr := range m.Net.Grants {
			if gr.Env == env && len(gr.Guards)+len(p.guards) > maxGuards {
				return &Error{p.line, fmt.Sprintf("more than %d guards for env %s", maxGuards, p.image)}
			}
		}
		for _, g := range p.guards {
			for _, o := range all {
				if g.Lo <= o.g.Hi && o.g.Lo <= g.Hi {
					return &Error{p.line, fmt.Sprintf("guard %v overlaps guard %v given on line %d", g, o.g, o.line)}
				}
			}
			all = append(all, given{g, p.line})
		}
		m.Net.Grants = append(m.Net.Grants, Grant{Env: env, Guards: p.guards, Line: p.line})
	}
	if len(pending) > 0 && !m.Net.Addr.IsValid() {
		return &Error{pending[0].line, "guards given but no net address= line"}
	}
	return nil
}

// findEnv returns the index of the env line that spec (IMAGE or IMAGE@N)
// names.
func (m *Manifest) findEnv(spec string) (int, error) {
	image, nth, numbered := strings.Cut(spec, "@")
	want := 0
	if numbered {
		n, err := strconv.Atoi(nth)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("env=%s: want IMAGE or IMAGE@N with N from 1", spec)
		}
		want = n
	}
	env, seen := -1, 0
	for i, e := range m.Envs {
		if e.Image != image {
			continue
		}
		seen++
		switch {
		case numbered && seen == want:
			return i, nil
		case !numbered && env >= 0:
			return 0, fmt.Errorf("env=%s names more than one env line (lines %d and %d); say %s@N", spec, m.Envs[env].Line, e.Line, image)
		case !numbered:
			env = i
		}
	}
	if env < 0 {
		if numbered {
			return 0, fmt.Errorf("env=%s: only %d env lines run %s", spec, seen, image)
		}
		return 0, fmt.Errorf("env=%s: no env line runs that image", spec)
	}
	return env, nil
}

// Guards returns the guards the manifest gives environment i.
func (m *Manifest) Guards(i int) []Guard {
	var out []Guard
	for _, g := range m.Net.Grants {
		if g.Env == i {
			out = append(out, g.Guards...)
		}
	}
	return out
}
