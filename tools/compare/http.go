package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// HTTP and TCP against the same server on both systems: internal/httpdemo's
// site served by Go's net/http, on Exo by firmware/envs/httpd over the
// library OS's TCP/IP stack (the network demo's port 80), on Linux by
// "/init httpd 80" over Linux's (compare.http=80). The client is
// tools/benchstack's (its -client mode, built once and run inside the
// namespace, so that every socket is the namespace's), the measurements
// its download, upload, http1 and http100.

// HTTPRow is one line of the HTTP table: figure Key of client
// measurement Measure.
type HTTPRow struct {
	Name, Measure, Key, Unit string
	// Higher: a higher figure is better (throughput, rate).
	Higher bool
}

// HTTPRows are the HTTP table's lines; their figure keys in Run.HTTP are
// Measure + "-" + Key. CONNS in a name stands for -http-conns.
var HTTPRows = []HTTPRow{
	{"GET /download (TCP guest → host)", "download", "mbps", "MB/s", true},
	{"POST /upload (TCP host → guest)", "upload", "mbps", "MB/s", true},
	{"GET /, 1 keep-alive connection: rate", "http1", "rps", "req/s", true},
	{"GET /, 1 connection: p50", "http1", "p50_us", "µs", false},
	{"GET /, 1 connection: p99", "http1", "p99_us", "µs", false},
	{"GET /, CONNS connections: rate", "http100", "rps", "req/s", true},
	{"GET /, CONNS connections: p50", "http100", "p50_us", "µs", false},
	{"GET /, CONNS connections: p99", "http100", "p99_us", "µs", false},
}

// HTTPCounts are the HTTP measurements' sizes.
type HTTPCounts struct {
	Size              int64 // download and upload bytes
	Seq               int   // sequential requests on one connection
	Conns, PerConn    int   // parallel connections, requests each
	client, clientDir string
}

// buildClient builds tools/benchstack (its -client mode is the HTTP
// client) into a temporary directory; run from the repository's root
// (or any directory of the module).
func buildClient(c *HTTPCounts) error {
	dir, err := os.MkdirTemp("", "exo-compare-client")
	if err != nil {
		return fmt.Errorf("compare: the HTTP client: %w", err)
	}
	exe := filepath.Join(dir, "benchstack")
	cmd := exec.Command("go", "build", "-o", exe, "github.com/exo-os/exo/tools/benchstack")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return fmt.Errorf("compare: building the HTTP client (go build github.com/exo-os/exo/tools/benchstack): %v\n%s", err, out)
	}
	c.client, c.clientDir = exe, dir
	return nil
}

// clientArgs are benchstack's -client arguments for one measurement.
func clientArgs(c HTTPCounts, measure, target, addr string) []string {
	a := []string{"-client", "-measure", measure, "-target", target, "-addr", addr,
		"-size", strconv.FormatInt(c.Size, 10)}
	switch measure {
	case "http1":
		a = append(a, "-requests", strconv.Itoa(c.Seq))
	case "http100":
		a = append(a, "-conns", strconv.Itoa(c.Conns), "-requests", strconv.Itoa(c.PerConn))
	}
	return a
}

// ParseClient reads the JSON sample benchstack's client prints for
// measure: its values, or an error saying what went wrong (the client's
// own error, no sample, another measurement's sample, no values).
func ParseClient(stdout, measure string) (map[string]float64, error) {
	var s struct {
		Measure string             `json:"measure"`
		Values  map[string]float64 `json:"values"`
		Err     string             `json:"error"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &s); err != nil {
		return nil, fmt.Errorf("compare: the HTTP client printed no result for %s: %q", measure, tail(stdout, 3))
	}
	switch {
	case s.Measure != measure:
		return nil, fmt.Errorf("compare: the HTTP client answered %q for %s", s.Measure, measure)
	case s.Err != "":
		return nil, fmt.Errorf("compare: %s: %s", measure, s.Err)
	case len(s.Values) == 0:
		return nil, fmt.Errorf("compare: %s: no figures", measure)
	}
	return s.Values, nil
}

// runHTTP measures the server target (its front page's stack name) at
// addr with the client run under wrap (the namespace's prefix), and
// returns the figures by Measure-Key.
func runHTTP(c HTTPCounts, wrap []string, target, addr string) (Figures, error) {
	f := Figures{}
	done := map[string]bool{}
	for _, r := range HTTPRows {
		if done[r.Measure] {
			continue
		}
		done[r.Measure] = true
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		argv := append(append(append([]string(nil), wrap...), c.client), clientArgs(c, r.Measure, target, addr)...)
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		cancel()
		v, perr := ParseClient(stdout.String(), r.Measure)
		if perr != nil {
			return f, fmt.Errorf("%w (%s, exit: %v; stderr: %s)", perr, target, err, tail(stderr.String(), 5))
		}
		for k, x := range v {
			f[r.Measure+"-"+k] = x
		}
	}
	return f, nil
}

// HTTPStats is one HTTP row over the runs.
type HTTPStats struct {
	Row               HTTPRow
	Exo, Linux, Ratio Stat
}

// ComputeHTTP summarizes the runs' HTTP figures: per row, Exo's and
// Linux's median (min–max) over runs and the Exo/Linux ratio, run by run.
func ComputeHTTP(runs []Run) []HTTPStats {
	var out []HTTPStats
	any := false
	for _, r := range HTTPRows {
		k := r.Measure + "-" + r.Key
		var exo, lin, ratio []float64
		for _, run := range runs {
			e, eok := run.HTTP["exo"][k]
			l, lok := run.HTTP["linux"][k]
			if eok {
				exo = append(exo, e)
			}
			if lok {
				lin = append(lin, l)
			}
			if eok && lok && l > 0 {
				ratio = append(ratio, e/l)
			}
		}
		any = any || len(exo)+len(lin) > 0
		out = append(out, HTTPStats{Row: r, Exo: stat(exo), Linux: stat(lin), Ratio: stat(ratio)})
	}
	if !any {
		return nil
	}
	return out
}

// HTTPMarkdown is the HTTP table ("" without figures).
func HTTPMarkdown(rows []HTTPStats, runs int, c HTTPCounts) string {
	if len(rows) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n### HTTP and TCP: the same server (internal/httpdemo on Go's net/http) over Exo's libOS stack and over Linux's (%d runs each, interleaved)\n\n", runs)
	fmt.Fprintf(&b, "tools/benchstack's client in the host namespace; median (min–max over runs); transfers of %d bytes (SHA-256 checked), %d sequential GET / on 1 keep-alive connection, %d connections × %d GET /. Exo / Linux > 1 is Exo ahead for MB/s and req/s, behind for µs.\n\n",
		c.Size, c.Seq, c.Conns, c.PerConn)
	b.WriteString("| figure | Exo (httpd, libOS stack) | Linux (net/http, Linux's stack) | Exo / Linux |\n|---|---:|---:|---:|\n")
	num := func(v float64) string {
		if v >= 100 {
			return strconv.FormatFloat(v, 'f', 0, 64)
		}
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	for _, r := range rows {
		cell := func(s Stat) string {
			if s.N == 0 {
				return "no figure"
			}
			return spread(s, num) + " " + r.Row.Unit
		}
		ratio := "-"
		if r.Ratio.N > 0 {
			ratio = spread(r.Ratio, times)
		}
		name := strings.ReplaceAll(r.Row.Name, "CONNS", strconv.Itoa(c.Conns))
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, cell(r.Exo), cell(r.Linux), ratio)
	}
	return b.String()
}

// httpCSVRecords are the HTTP table's lines of the CSV.
func httpCSVRecords(rows []HTTPStats, c HTTPCounts) [][]string {
	var rec [][]string
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	for _, r := range rows {
		for _, s := range []struct {
			sys  string
			st   Stat
			rest string
		}{{"exo", r.Exo, f(r.Ratio.Median)}, {"linux", r.Linux, ""}} {
			if s.st.N == 0 {
				continue
			}
			if r.Ratio.N == 0 {
				s.rest = ""
			}
			rec = append(rec, []string{"http", strings.ReplaceAll(r.Row.Name, "CONNS", strconv.Itoa(c.Conns)), s.sys, r.Row.Unit, f(s.st.Median), f(s.st.Min), f(s.st.Max), strconv.Itoa(s.st.N), "", s.rest, ""})
		}
	}
	return rec
}

// httpBrief is one line of a system's HTTP figures for the progress log.
func httpBrief(f Figures) string {
	return fmt.Sprintf("download %.2f MB/s, upload %.2f MB/s, 1 conn %.0f req/s (p50 %.0f µs, p99 %.0f µs), %s %.0f req/s (p50 %.0f µs, p99 %.0f µs)",
		f["download-mbps"], f["upload-mbps"], f["http1-rps"], f["http1-p50_us"], f["http1-p99_us"], "100 conns", f["http100-rps"], f["http100-p50_us"], f["http100-p99_us"])
}
