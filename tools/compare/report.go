package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exo-os/exo/internal/ping"
)

// Run is one round of the comparison: a boot of each system.
type Run struct {
	Exo, Linux Figures
	// LinuxNA: the guest's "n/a" lines, by key.
	LinuxNA map[string]string
	// Ping: each path's probes, by path key (Paths).
	Ping map[string]*ping.Result
	// Busy: the busy sweep, by busy count, then by path key (BusyPaths).
	Busy map[int]map[string]ping.Summary
	// HTTP: the HTTP and TCP figures by system ("exo", "linux"), keyed
	// Measure-Key (HTTPRows).
	HTTP map[string]Figures
}

func (r *Run) setHTTP(system string, f Figures) {
	if r.HTTP == nil {
		r.HTTP = map[string]Figures{}
	}
	r.HTTP[system] = f
}

// Row is one line of the trap-path table.
type Row struct {
	Name string
	// ExoKey and LinuxKey name the figures (ParseExoBench, ParseLinux);
	// an empty ExoKey is a row Exo cannot run yet.
	ExoKey, LinuxKey string
	// NotYet says why Exo has no figure (with the issue).
	NotYet string
	// Same is false where the two systems do different work for the row;
	// Note then says how (docs/COMPARE.md repeats it).
	Same bool
	Note string
	// ExoCallKey is the procedure call Exo's figure is divided by for the
	// "× call" column: the one measured in the same boot ("call" if empty).
	ExoCallKey string
	// NoPerCall leaves the row out of the "× call" columns (a boot time
	// is no multiple of a call).
	NoPerCall bool
}

// Rows are the seed's trap-path tables (Aegis against Ultrix: null
// procedure call, system call, exceptions, the virtual-memory primitives,
// IPC), with Exo's and the Linux guest's figure for each.
var Rows = []Row{
	{Name: "procedure call", ExoKey: "call", LinuxKey: "call", Same: true,
		Note: "an empty assembly function through a Go func value, on both"},
	{Name: "null system call", ExoKey: "null", LinuxKey: "getpid", Same: true,
		Note: "Exo: ecall to the kernel's null call; Linux: ecall getpid (its cheapest call, one load)"},
	{Name: "yield, nothing else runnable", ExoKey: "yield", LinuxKey: "yield",
		Note: "Exo: yield system call; Linux: sched_yield (C) with no other runnable task"},
	{Name: "round trip between two address spaces", ExoKey: "pingpong", LinuxKey: "shm",
		Note: "Exo: two environments yielding to each other (directed by the scheduler); Linux: two processes passing a counter in shared memory, each sched_yield-ing until its turn"},
	{Name: "exception to a handler and back (SIGSEGV)", ExoKey: "vm-trap", ExoCallKey: "vm-call", LinuxKey: "sigsegv", NotYet: "issue 13",
		Note: "Exo: a store to a protected page reflected to libos's assembly handler, which resumes past it (the VM table's trap); Linux: a load from a PROT_NONE page, a SIGSEGV handler that steps over it"},
	{Name: "exception to a handler and back (illegal instruction, SIGILL)", ExoKey: "exc-ill", ExoCallKey: "exc-call", LinuxKey: "sigill", NotYet: "issue 13", Same: true,
		Note: "an illegal instruction; Exo: reflected to the environment's assembly handler (exc_handler), which resumes past it (exc_resume); Linux: trapped by OpenSBI, redirected, a SIGILL handler (C) that steps over it, sigreturn"},
	{Name: "exception to a handler and back (misaligned AMO, SIGBUS)", ExoKey: "exc-amo", ExoCallKey: "exc-call", LinuxKey: "sigbus", NotYet: "issue 13", Same: true,
		Note: "a misaligned AMO; Exo: reflected as for the illegal instruction; Linux: OpenSBI redirects it (it emulates no AMO), SIGBUS to a C handler that steps over it"},
	{Name: "mprotect, 1 page", ExoKey: "vm-prot1", ExoCallKey: "vm-call", LinuxKey: "mprotect1", NotYet: "issue 13",
		Note: "Exo: the protect call, its page capability checked (about 2,300 of its instructions); Linux: mprotect"},
	{Name: "mprotect, 100 pages", ExoKey: "vm-prot100", ExoCallKey: "vm-call", LinuxKey: "mprotect100", NotYet: "issue 13",
		Note: "Exo: one protect call of 100 pages; Linux: mprotect of 100 pages"},
	{Name: "Appel-Li trap (protect, fault, handler unprotects)", ExoKey: "vm-trap", ExoCallKey: "vm-call", LinuxKey: "trap", NotYet: "issue 13",
		Note: "Exo: the fault reflected and resumed, without the unprotect; Linux: SIGSEGV to a C handler"},
	{Name: "Appel-Li appel1 (prot1 + trap + unprot), per fault", ExoKey: "vm-appel1", ExoCallKey: "vm-call", LinuxKey: "appel1", NotYet: "issue 13"},
	{Name: "Appel-Li appel2 (protN + trap + unprot), per page", ExoKey: "vm-appel2", ExoCallKey: "vm-call", LinuxKey: "appel2", NotYet: "issue 13"},
	{Name: "pipe round trip (ExOS IPC)", ExoKey: "ipc-pipe", ExoCallKey: "ipc-call", LinuxKey: "pipe", NotYet: "issue 13",
		Note: "Exo: libos/ipc's pipe over a shared page between two environments, yielding while empty; Linux: a pipe(2) between two processes"},
	{Name: "shared-memory ping-pong (ExOS IPC)", ExoKey: "ipc-shm", ExoCallKey: "ipc-call", LinuxKey: "shm", NotYet: "issue 13",
		Note: "Exo: a word in a shared page, each side yielding until its turn; Linux: the same with sched_yield"},
	{Name: "boot to the first program", ExoKey: "reset", LinuxKey: "boot-to-init", NoPerCall: true,
		Note: "Exo: reset to the first environment's first instruction (includes building its 16 MiB); Linux: kernel start to /init (CLOCK_BOOTTIME; excludes OpenSBI)"},
	{Name: "lrpc round trip (ExOS IPC)", ExoKey: "ipc-lrpc", ExoCallKey: "ipc-call", NotYet: "no Linux peer",
		Note: "Exo: a protected control transfer to the server's entry and back (pct_call, pct_return); Linux: no counterpart measured"},
}

// Path is one line of the ping table.
type Path struct {
	Key, System, Name string
	Proto             string
	Port              uint16
}

// Paths are the ping experiment's paths (the ASH paper's figure 2 with
// Linux beside it).
var Paths = []Path{
	{"exo-ash", "Exo", "ICMP echo by the handler in the kernel (ASH)", "icmp", 0},
	{"exo-upcall", "Exo", "UDP echo from the echo environment's ring (upcall), port 9", "udp", 9},
	{"exo-libos", "Exo", "UDP echo by httpd over the libOS stack, port 5007", "udp", 5007},
	{"linux-icmp", "Linux", "ICMP echo by the kernel", "icmp", 0},
	{"linux-udp", "Linux", "UDP echo by a user process (linux/init), port 7", "udp", 7},
}

// Stat is the median and spread of one figure over runs.
type Stat struct {
	Median, Min, Max float64
	N                int
}

func stat(v []float64) Stat {
	if len(v) == 0 {
		return Stat{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stat{Median: m, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// RowStats are a row's statistics over the runs that have its figures.
type RowStats struct {
	Row
	Exo, Linux Stat
	// ExoCall and LinuxCall: the figure as a multiple of the procedure
	// call measured in the same boot.
	ExoCall, LinuxCall Stat
	// Ratio: Exo's figure over Linux's, run by run.
	Ratio Stat
}

// Compute returns each row's statistics.
func Compute(runs []Run) []RowStats {
	var out []RowStats
	for _, r := range Rows {
		var e, l, ec, lc, ratio []float64
		for _, run := range runs {
			lv, lok := run.Linux[r.LinuxKey]
			if lok {
				l = append(l, lv)
				if c := run.Linux["call"]; c > 0 && !r.NoPerCall {
					lc = append(lc, lv/c)
				}
			}
			if r.ExoKey == "" {
				continue
			}
			ev, eok := run.Exo[r.ExoKey]
			if eok {
				e = append(e, ev)
				ck := r.ExoCallKey
				if ck == "" {
					ck = "call"
				}
				if c := run.Exo[ck]; c > 0 && !r.NoPerCall {
					ec = append(ec, ev/c)
				}
			}
			if eok && lok && lv > 0 {
				ratio = append(ratio, ev/lv)
			}
		}
		out = append(out, RowStats{Row: r, Exo: stat(e), Linux: stat(l), ExoCall: stat(ec), LinuxCall: stat(lc), Ratio: stat(ratio)})
	}
	return out
}

// PathStats are a ping path's statistics over runs.
type PathStats struct {
	Path
	P50, P99, Mean Stat // µs
	Sent, Lost     int
}

// ComputePaths returns each path's statistics.
func ComputePaths(runs []Run) []PathStats {
	var out []PathStats
	for _, p := range Paths {
		ps := PathStats{Path: p}
		var p50, p99, mean []float64
		for _, run := range runs {
			res := run.Ping[p.Key]
			if res == nil {
				continue
			}
			s := res.Summary
			ps.Sent += s.Sent
			ps.Lost += s.Lost + s.Corrupt
			if s.Received == 0 {
				continue
			}
			p50 = append(p50, us(s.P50))
			p99 = append(p99, us(s.P99))
			mean = append(mean, us(s.Mean))
		}
		ps.P50, ps.P99, ps.Mean = stat(p50), stat(p99), stat(mean)
		out = append(out, ps)
	}
	return out
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }

// dur formats nanoseconds with a unit that keeps 3-4 digits.
func dur(ns float64) string {
	switch {
	case ns >= 1e6:
		return strconv.FormatFloat(ns/1e6, 'f', 1, 64) + " ms"
	case ns >= 1e4:
		return strconv.FormatFloat(ns/1e3, 'f', 1, 64) + " µs"
	default:
		return strconv.FormatFloat(ns, 'f', 1, 64) + " ns"
	}
}

// spread formats a statistic as "median (min–max)" with f, or "median"
// when there was one run.
func spread(s Stat, f func(float64) string) string {
	if s.N == 0 {
		return "-"
	}
	if s.N == 1 || s.Min == s.Max {
		return f(s.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.Median), f(s.Min), f(s.Max))
}

func times(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + "×" }
func micro(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }

// Markdown returns the report: the trap-path table and the ping table.
func Markdown(rows []RowStats, paths []PathStats, runs int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Trap path: Exo against Linux 6.1 on the same QEMU (%d runs each, interleaved)\n\n", runs)
	b.WriteString("Median over runs, (min–max) when runs differ; × call is the figure over the procedure call measured in the same boot; Exo / Linux is the ratio of the two systems' figures, run by run. A row marked † is not the same work on both (docs/COMPARE.md).\n\n")
	b.WriteString("| # | figure | Exo | Exo × call | Linux | Linux × call | Exo / Linux |\n|---:|---|---:|---:|---:|---:|---:|\n")
	for i, r := range rows {
		name := r.Name
		if !r.Same && r.ExoKey != "" {
			name += " †"
		}
		exo, exoc, ratio := spread(r.Exo, dur), spread(r.ExoCall, times), spread(r.Ratio, times)
		if r.ExoKey == "" || (r.Exo.N == 0 && r.NotYet != "") {
			exo, exoc, ratio = "not yet ("+r.NotYet+")", "-", "-"
		} else if r.Exo.N == 0 {
			exo = "no figure"
		}
		lin, linc := spread(r.Linux, dur), spread(r.LinuxCall, times)
		if r.Linux.N == 0 {
			lin = "no figure"
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s |\n", i+1, name, exo, exoc, lin, linc, ratio)
	}
	fmt.Fprintf(&b, "\n### Ping: echo round trips from the host namespace (internal/ping, %d runs each)\n\n", runs)
	b.WriteString("µs, wall clock; median of the runs' p50 and p99 (min–max over runs); lost counts probes without a good reply.\n\n")
	b.WriteString("| system | path | p50 µs | p99 µs | mean µs | lost | p50 / Linux kernel ICMP p50 |\n|---|---|---:|---:|---:|---:|---:|\n")
	var base float64
	for _, p := range paths {
		if p.Key == "linux-icmp" {
			base = p.P50.Median
		}
	}
	for _, p := range paths {
		rel := "-"
		if base > 0 && p.P50.N > 0 {
			rel = times(p.P50.Median / base)
		}
		p50 := spread(p.P50, micro)
		if p.P50.N == 0 {
			p50 = "no replies"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d/%d | %s |\n", p.System, p.Name, p50, spread(p.P99, micro), spread(p.Mean, micro), p.Lost, p.Sent, rel)
	}
	return b.String()
}

// WriteCSV writes every row and path, one line per figure and system,
// then the extra records (the busy sweep's, the HTTP table's) in the same
// columns.
func WriteCSV(w io.Writer, rows []RowStats, paths []PathStats, extra ...[][]string) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"table", "figure", "system", "unit", "median", "min", "max", "runs", "per_call_median", "exo_over_linux_median", "note"})
	f := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	for _, r := range rows {
		note := r.Note
		if r.ExoKey == "" || (r.Exo.N == 0 && r.NotYet != "") {
			note = "Exo: not yet (" + r.NotYet + ")"
		}
		if r.ExoKey != "" && r.Exo.N > 0 {
			cw.Write([]string{"trap", r.Name, "exo", "ns", f(r.Exo.Median), f(r.Exo.Min), f(r.Exo.Max), strconv.Itoa(r.Exo.N), f(r.ExoCall.Median), f(r.Ratio.Median), note})
		}
		cw.Write([]string{"trap", r.Name, "linux", "ns", f(r.Linux.Median), f(r.Linux.Min), f(r.Linux.Max), strconv.Itoa(r.Linux.N), f(r.LinuxCall.Median), "", note})
	}
	for _, p := range paths {
		for _, q := range []struct {
			name string
			s    Stat
		}{{"p50", p.P50}, {"p99", p.P99}, {"mean", p.Mean}} {
			cw.Write([]string{"ping", p.Name + " " + q.name, strings.ToLower(p.System), "us", f(q.s.Median), f(q.s.Min), f(q.s.Max), strconv.Itoa(q.s.N), "", "", fmt.Sprintf("lost %d/%d", p.Lost, p.Sent)})
		}
	}
	for _, recs := range extra {
		for _, r := range recs {
			cw.Write(r)
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteProbes writes every ping probe of every run: run, path, probe
// number, when it was sent (µs after the path's first probe), RTT (µs,
// empty if lost) and whether it was lost or corrupt.
func WriteProbes(w io.Writer, runs []Run) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"run", "path", "seq", "sent_us", "rtt_us", "lost", "corrupt"})
	for i, run := range runs {
		for _, p := range Paths {
			res := run.Ping[p.Key]
			if res == nil || len(res.Probes) == 0 {
				continue
			}
			t0 := res.Probes[0].Sent
			for _, pr := range res.Probes {
				rtt := ""
				if pr.Good() {
					rtt = strconv.FormatFloat(us(pr.RTT), 'f', 1, 64)
				}
				cw.Write([]string{strconv.Itoa(i + 1), p.Key, strconv.Itoa(pr.Seq),
					strconv.FormatFloat(us(pr.Sent.Sub(t0)), 'f', 0, 64), rtt,
					strconv.FormatBool(pr.Lost), strconv.FormatBool(pr.Corrupt)})
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
