package main

import (
	"fmt"
	"strconv"
	"strings"
)

// Figures are one boot's measurements by key, in nanoseconds.
type Figures map[string]float64

// The keys of Exo's bench environment's lines (firmware/envs/testenv/
// bench.go), by the text that starts the line after "bench: ".
var exoKeys = []struct{ prefix, key string }{
	{"procedure call", "call"},
	{"null system call", "null"},
	{"null call, FP saved", "nullfp"},
	{"yield to itself", "yield"},
	{"yield round trip, 2 envs", "pingpong"},
	{"trap floor (asm only)", "floor"},
}

// ParseExoBench reads the console of a boot of tools/exorun/bench.manifest:
// lines such as "[1 testenv] bench: procedure call   20.4 ns" and "bench: reset
// to first instruction of env 1: 166000 us". It returns an error naming
// what is missing if the procedure call or the null system call is not
// there (the boot failed or the format changed).
func ParseExoBench(console string) (Figures, error) {
	f := Figures{}
	for _, line := range strings.Split(console, "\n") {
		// The kernel prefixes an environment's lines with "[id name] ".
		// "exc: bench:" lines are ParseExoExc's.
		i := strings.Index(line, "bench: ")
		if i < 0 || strings.Contains(line, "exc: bench: ") {
			continue
		}
		rest := strings.TrimSpace(line[i+len("bench: "):])
		if r, ok := strings.CutPrefix(rest, "reset to first instruction of env "); ok {
			if _, v, ok := strings.Cut(r, ": "); ok {
				if us, ok := number(v, "us"); ok {
					f["reset"] = us * 1e3
				}
			}
			continue
		}
		for _, k := range exoKeys {
			r, ok := strings.CutPrefix(rest, k.prefix)
			if !ok || (r != "" && r[0] != ' ') {
				continue
			}
			if v, ok := number(r, "ns"); ok {
				f[k.key] = v
			}
			break
		}
	}
	for _, k := range []string{"call", "null"} {
		if _, ok := f[k]; !ok {
			return f, fmt.Errorf("compare: Exo's bench console has no %q line (did the bench environment run?)", k)
		}
	}
	return f, nil
}

// ParseExoExc reads the console of a boot of `testenv exc bench`
// (firmware/envs/testenv/exc.go, issue 13): "exc: bench: procedure call
// 24.1 ns, null system call 560.2 ns (...)" and "exc: bench: illegal
// instruction delivered and resumed 6.1 ns ...". It returns the keys
// exc-call, exc-null, exc-ill and exc-amo, or an error if the boot printed
// none (a firmware from before issue 13 does not know "exc bench").
func ParseExoExc(console string) (Figures, error) {
	f := Figures{}
	for _, line := range strings.Split(console, "\n") {
		i := strings.Index(line, "exc: bench: ")
		if i < 0 {
			continue
		}
		rest := strings.TrimSpace(line[i+len("exc: bench: "):])
		if r, ok := strings.CutPrefix(rest, "procedure call "); ok {
			call, null, _ := strings.Cut(r, ", null system call ")
			if v, ok := number(call, "ns"); ok {
				f["exc-call"] = v
			}
			if v, ok := number(null, "ns"); ok {
				f["exc-null"] = v
			}
			continue
		}
		for _, k := range []struct{ prefix, key string }{
			{"illegal instruction delivered and resumed", "exc-ill"},
			{"misaligned AMO delivered and resumed", "exc-amo"},
		} {
			if r, ok := strings.CutPrefix(rest, k.prefix); ok {
				if v, ok := number(r, "ns"); ok {
					f[k.key] = v
				}
			}
		}
	}
	if _, ok := f["exc-ill"]; !ok {
		if strings.Contains(console, `unknown role "exc"`) {
			return f, fmt.Errorf("compare: the firmware's testenv has no exc role (built before issue 13's exceptions; make firmware rebuilds it)")
		}
		return f, fmt.Errorf("compare: Exo's exc bench console has no illegal-instruction line")
	}
	return f, nil
}

// ParseExoExOS reads the console of a boot of `testenv vm bench` or
// `testenv ipc N bench` (firmware/envs/testenv/vmbench.go and ipc.go):
// "bench: vm: prot1      4162.2 ns  416.22x the call" and "bench: ipc pipe
// round trip     1827.0 ns ...". It returns, with prefix ("vm-" or
// "ipc-"), the keys call and what it finds of prot1, prot100, unprot100,
// dirty, trap, appel1, appel2 (vm) and pipe, pipe', shm, lrpc (ipc), or an
// error if the boot printed none (a firmware from before they existed).
func ParseExoExOS(console, prefix string) (Figures, error) {
	f := Figures{}
	for _, line := range strings.Split(console, "\n") {
		i := strings.Index(line, "bench: ")
		if i < 0 {
			continue
		}
		rest := strings.TrimSpace(line[i+len("bench: "):])
		rest = strings.TrimPrefix(rest, "vm: ")
		rest = strings.TrimPrefix(rest, "ipc ")
		rest = strings.Replace(rest, " round trip", "", 1)
		name, r, ok := strings.Cut(rest, " ")
		if !ok {
			continue
		}
		if name == "procedure" {
			name, r, _ = strings.Cut(strings.TrimPrefix(rest, "procedure "), " ")
			name = "call"
		}
		v, ok := number(strings.TrimSpace(r), "ns")
		if !ok {
			continue
		}
		f[prefix+name] = v
	}
	if len(f) < 2 {
		return f, fmt.Errorf("compare: Exo's %sbench console has no figures (a firmware from before issue 13's VM and IPC tables?)", prefix)
	}
	return f, nil
}

// LinuxKeys are the keys the Linux guest prints ("measure: KEY VALUE ns"),
// in the order it prints them (linux/init and linux/measure.c).
var LinuxKeys = []string{
	"boot-to-init", "call", "getpid", "sigsegv", "sigill", "sigbus", "mprotect1", "mprotect100",
	"trap", "appel1", "appel2", "yield", "pipe", "shm",
}

// LinuxConsole is what a boot of the Linux guest printed.
type LinuxConsole struct {
	Figures Figures
	// NA holds the keys the guest reported as not measurable, with why.
	NA map[string]string
	// Done is set when /measure printed its last line; Ready when the UDP
	// echo server was bound.
	Done, Ready bool
	// Errors are the guest's "measure: error ..." lines.
	Errors []string
}

// ParseLinux reads the Linux guest's console. Lines not its own (the
// kernel's log, OpenSBI's banner) are skipped.
func ParseLinux(console string) LinuxConsole {
	c := LinuxConsole{Figures: Figures{}, NA: map[string]string{}}
	for _, line := range strings.Split(console, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "ready: udp echo on ") {
			c.Ready = true
			continue
		}
		rest, ok := strings.CutPrefix(line, "measure: ")
		if !ok {
			continue
		}
		key, val, _ := strings.Cut(rest, " ")
		switch {
		case key == "done":
			c.Done = true
		case key == "error":
			c.Errors = append(c.Errors, val)
		case strings.HasPrefix(val, "n/a"):
			c.NA[key] = strings.Trim(strings.TrimPrefix(val, "n/a"), " ()")
		default:
			if v, ok := number(val, "ns"); ok {
				c.Figures[key] = v
			}
		}
	}
	return c
}

// Check returns an error saying what is missing from a complete boot: an
// error line, a measurement, the end of /measure.
func (c LinuxConsole) Check() error {
	if len(c.Errors) > 0 {
		return fmt.Errorf("compare: the Linux guest failed: %s", c.Errors[0])
	}
	var missing []string
	for _, k := range LinuxKeys {
		if _, ok := c.Figures[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("compare: the Linux guest printed no %s", strings.Join(missing, ", "))
	}
	if !c.Done {
		return fmt.Errorf("compare: the Linux guest's /measure did not finish")
	}
	return nil
}

// number parses "  12.5 ns  (anything)" with the given unit: the first
// field must be a finite non-negative number and the second the unit.
func number(s, unit string) (float64, bool) {
	fs := strings.Fields(s)
	if len(fs) < 2 || fs[1] != unit {
		return 0, false
	}
	v, err := strconv.ParseFloat(fs[0], 64)
	if err != nil || v < 0 || v != v || v > 1e15 {
		return 0, false
	}
	return v, true
}
