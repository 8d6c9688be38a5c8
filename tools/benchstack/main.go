// Command benchstack is `make bench-stack`: the library OS's two network
// stacks side by side. It boots one QEMU with firmware/envs/httpd over
// Exo's TCP/IP stack (port 80) and over gVisor's netstack (ghttpd, port
// 8080) on 198.18.0.2, in a network namespace of its own with a tap, and
// measures each stack, interleaved round by round (exo, gvisor, exo,
// gvisor, ...):
//
//   - TCP throughput env → host (GET /download, bytes and SHA-256 checked)
//     and host → env (POST /upload, the answer's SHA-256 checked);
//   - HTTP rate and latency at 1 keep-alive connection and at 100;
//   - UDP echo round trips through each environment's ring and stack;
//   - heap in use per idle keep-alive connection, from /stats.
//
// It prints a Markdown table (median and min..max over the rounds, and the
// ratio of the stacks) and writes it with a CSV and a bar chart of the
// ratios to -out's .md, .csv and .png.
//
//	benchstack -firmware build/qemu-virt/firmware.elf [-out build/bench-stack]
//	           [-runs 3] [-quick]
//
// It needs root (the namespace). The orchestrator re-executes itself
// inside the namespace (-client) for each measurement, so that every
// socket the client opens is the namespace's; the client prints one JSON
// Sample.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exo-os/exo/tools/qemu"
)

// manifestFile is the network demo's manifest, which runs both stacks in
// one machine, each with its own guards, beside the echo environment that
// holds the ARP guard (firmware/qemu-virt/net.manifest).
const manifestFile = "firmware/qemu-virt/net.manifest"

// Server is one httpd environment.
type Server struct {
	Name string // the stack, as its greeting and front page say
	Port int    // HTTP
}

// servers are the two stacks compared; the ratio is servers[0]/servers[1].
var servers = []Server{{"exo", 80}, {"gvisor", 8080}}

// UDPTarget is a UDP echo responder on the machine.
type UDPTarget struct {
	Name string
	Port int
}

// udpTargets are measured by the UDP echo in this order. Those named like
// a server fill the server's UDP rows of the main table; every one has a
// row of the UDP table.
var udpTargets = []UDPTarget{
	{"exo", 5007},           // net.ListenPacket in httpd: the ring, Exo's stack
	{"gvisor", 5008},        // the same in ghttpd: the ring, gVisor's netstack
	{"exo-vectoring", 5009}, // httpd's vudp echo: the datagram copied into the socket's ring by the handler
}

// counts are a run's sizes.
type counts struct {
	size       int64 // download and upload bytes
	seq        int   // sequential requests on one connection
	conns, per int   // parallel connections, requests each
	probes     int   // UDP echoes
	interval   time.Duration
	memConns   int // idle connections for the memory row
}

func (c counts) String() string {
	return fmt.Sprintf("transfers %d bytes; %d sequential GET / on 1 connection; %d connections × %d GET /; %d UDP probes of 64 bytes %v apart; %d idle connections for memory",
		c.size, c.seq, c.conns, c.per, c.probes, c.interval, c.memConns)
}

var (
	fullCounts  = counts{size: 16 << 20, seq: 500, conns: 100, per: 20, probes: 1000, interval: time.Millisecond, memConns: 100}
	quickCounts = counts{size: 4 << 20, seq: 100, conns: 20, per: 5, probes: 200, interval: time.Millisecond, memConns: 20}
)

func main() {
	firmware := flag.String("firmware", "build/qemu-virt/firmware.elf", "kernel ELF to boot")
	out := flag.String("out", "build/bench-stack", "`prefix` of the .md, .csv and .png files written")
	runs := flag.Int("runs", 3, "rounds, each measuring every stack once")
	quick := flag.Bool("quick", false, "1 round and smaller counts: a smoke run")
	// The client, inside the namespace.
	isClient := flag.Bool("client", false, "internal: run one measurement and print it as JSON")
	var j Job
	flag.StringVar(&j.Measure, "measure", "", "internal (-client): "+strings.Join(measures, ", "))
	flag.StringVar(&j.Target, "target", "", "internal (-client): the stack's name")
	flag.StringVar(&j.Addr, "addr", "", "internal (-client): host:port")
	flag.Int64Var(&j.Size, "size", fullCounts.size, "internal (-client): transfer bytes")
	flag.IntVar(&j.Requests, "requests", 0, "internal (-client): requests (per connection for http100)")
	flag.IntVar(&j.Conns, "conns", 0, "internal (-client): connections")
	flag.IntVar(&j.Probes, "probes", 0, "internal (-client): UDP probes")
	flag.DurationVar(&j.Interval, "interval", time.Millisecond, "internal (-client): time between UDP probes")
	round := flag.Int("round", 0, "internal (-client): the round, for the record")
	flag.Parse()
	if *isClient {
		os.Exit(clientMain(j, *round))
	}
	c := fullCounts
	if *quick {
		c, *runs = quickCounts, 1
	}
	if *runs < 1 {
		fail(fmt.Errorf("-runs %d: want at least 1", *runs))
	}
	os.Exit(orchestrate(*firmware, *out, *runs, c))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchstack:", err)
	os.Exit(1)
}

// clientMain runs j and prints its Sample; the exit status is 1 if it
// failed.
func clientMain(j Job, round int) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := Sample{Round: round, Target: j.Target, Measure: j.Measure}
	v, note, err := j.run(ctx)
	s.Values, s.Note = v, note
	if err != nil {
		s.Err = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(s)
	if err != nil {
		return 1
	}
	return 0
}

// command is how this run was invoked, for the record: `go run
// ./tools/benchstack ...` if go run built it.
func command() string {
	name := os.Args[0]
	if strings.Contains(name, "go-build") {
		return "go run ./tools/benchstack " + shellQuote(os.Args[1:])
	}
	return shellQuote(os.Args)
}

// orchestrate boots the machine in a fresh namespace, runs the rounds,
// and writes the report; it returns the exit status.
func orchestrate(firmware, out string, runs int, c counts) int {
	fi, err := os.Stat(firmware)
	if err != nil {
		fail(fmt.Errorf("-firmware: %w", err))
	}
	exe, err := os.Executable()
	if err != nil {
		fail(err)
	}
	rep := Report{
		Command:  command(),
		Firmware: fmt.Sprintf("%s (%d bytes, %s)", firmware, fi.Size(), fi.ModTime().Format(time.RFC3339)),
		Date:     time.Now(),
		Rounds:   runs,
		Params:   c.String(),
		Size:     c.size,
		UDP:      udpTargets,
	}
	for _, s := range servers {
		rep.Servers = append(rep.Servers, s.Name)
	}

	manifest, err := os.ReadFile(manifestFile)
	if err != nil {
		fail(fmt.Errorf("the manifest (run from the repository's root): %w", err))
	}
	ns, err := qemu.NewNetNS("exo-bench")
	if err != nil {
		fail(fmt.Errorf("the network namespace: %w", err))
	}
	m, err := qemu.Start(qemu.Config{Firmware: firmware, Manifest: string(manifest), Timeout: 30 * time.Minute, Extra: ns.TapArgs()}, ns.Wrap())
	if err != nil {
		ns.Close()
		fail(fmt.Errorf("booting QEMU: %w", err))
	}
	// cleanup stops QEMU and removes the namespace, once, also on a
	// signal.
	var once sync.Once
	cleanup := func() {
		once.Do(func() {
			m.Stop()
			if err := ns.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "benchstack:", err)
			}
		})
	}
	defer cleanup()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	for _, s := range servers {
		greet := fmt.Sprintf("httpd: %s stack serving", s.Name)
		if err := m.WaitFor(greet, 3*time.Minute); err != nil {
			cleanup()
			fail(fmt.Errorf("%s: %w\n%s", s.Name, err, m.Console()))
		}
	}
	fmt.Fprintf(os.Stderr, "benchstack: both stacks serving (%s); %d round(s)\n", ns.Name, runs)

	aborted := false
	for r := 1; r <= runs && !aborted; r++ {
		for _, ms := range measures {
			for _, t := range targets(ms) {
				if ctx.Err() != nil {
					rep.Failures = append(rep.Failures, "interrupted")
					aborted = true
					break
				}
				s := runClient(ctx, ns, exe, jobFor(ms, t.name, t.port, c), r)
				rep.Samples = append(rep.Samples, s)
				if s.Err != "" {
					f := fmt.Sprintf("%s (port %d): %s, round %d: %s", t.name, t.port, ms, r, s.Err)
					rep.Failures = append(rep.Failures, f)
					fmt.Fprintln(os.Stderr, "benchstack: FAILED:", f)
				} else {
					fmt.Fprintf(os.Stderr, "benchstack: round %d %-8s %-6s %s\n", r, ms, t.name, brief(s))
				}
				if !m.Running() {
					rep.Failures = append(rep.Failures, fmt.Sprintf("the machine stopped during %s of %s, round %d", ms, t.name, r))
					aborted = true
					break
				}
			}
			if aborted {
				break
			}
		}
	}
	console := m.Console()
	cleanup()
	for _, bad := range []string{"panic", "BUG"} {
		if strings.Contains(console, bad) {
			rep.Failures = append(rep.Failures, fmt.Sprintf("the console says %q", bad))
		}
	}
	if len(rep.Failures) > 0 {
		fmt.Fprintf(os.Stderr, "benchstack: the console:\n%s\n", console)
	}

	status := 0
	if len(rep.Failures) > 0 {
		status = 1
	}
	md := markdown(rep)
	fmt.Print(md)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "benchstack:", err)
		return 1
	}
	for _, w := range []struct {
		ext   string
		write func(io.Writer) error
	}{
		{".md", func(w io.Writer) error { _, err := io.WriteString(w, md); return err }},
		{".csv", func(w io.Writer) error { return writeCSV(w, rep) }},
		{".png", func(w io.Writer) error { return drawRatios(w, rep) }},
	} {
		if err := writeFile(out+w.ext, w.write); err != nil {
			fmt.Fprintln(os.Stderr, "benchstack:", err)
			status = 1
			continue
		}
		fmt.Fprintf(os.Stderr, "benchstack: wrote %s\n", out+w.ext)
	}
	return status
}

func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	return f.Close()
}

// target is one thing a measurement is made against.
type target struct {
	name string
	port int
}

// targets are what measurement ms is made against, in order: the UDP
// targets for udp, the servers otherwise.
func targets(ms string) []target {
	var t []target
	if ms == "udp" {
		for _, u := range udpTargets {
			t = append(t, target{u.Name, u.Port})
		}
		return t
	}
	for _, s := range servers {
		t = append(t, target{s.Name, s.Port})
	}
	return t
}

// jobFor is measurement ms of the target at port with counts c.
func jobFor(ms, name string, port int, c counts) Job {
	j := Job{Measure: ms, Target: name, Addr: fmt.Sprintf("%s:%d", qemu.GuestAddr, port), Size: c.size, Interval: c.interval, Probes: c.probes}
	switch ms {
	case "http1":
		j.Requests = c.seq
	case "http100":
		j.Conns, j.Requests = c.conns, c.per
	case "mem":
		j.Conns = c.memConns
	}
	return j
}

// args are the client's command-line arguments for j.
func (j Job) args(round int) []string {
	return []string{"-client", "-round", strconv.Itoa(round), "-measure", j.Measure, "-target", j.Target, "-addr", j.Addr,
		"-size", strconv.FormatInt(j.Size, 10), "-requests", strconv.Itoa(j.Requests), "-conns", strconv.Itoa(j.Conns),
		"-probes", strconv.Itoa(j.Probes), "-interval", j.Interval.String()}
}

// runClient runs j in the namespace (this program, -client) with a hard
// time limit and returns its Sample; a client that printed none is a
// failed sample with its exit status and standard error.
func runClient(parent context.Context, ns *qemu.NetNS, exe string, j Job, round int) Sample {
	ctx, cancel := context.WithTimeout(parent, 4*time.Minute)
	defer cancel()
	argv := ns.Wrap(append([]string{exe}, j.args(round)...)...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	var s Sample
	if jerr := json.Unmarshal([]byte(stdout.String()), &s); jerr != nil || s.Measure != j.Measure || s.Target != j.Target {
		s = Sample{Round: round, Target: j.Target, Measure: j.Measure}
		s.Err = fmt.Sprintf("the client printed no result (%v): %s%s", err, strings.TrimSpace(stderr.String()), strings.TrimSpace(stdout.String()))
		switch {
		case parent.Err() != nil:
			s.Err = "interrupted: " + s.Err
		case ctx.Err() != nil:
			s.Err = "the client took too long: " + s.Err
		}
	} else if err != nil && s.Err == "" {
		s.Err = fmt.Sprintf("the client: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return s
}

// brief is a one-line summary of s for the progress log.
func brief(s Sample) string {
	v := s.Values
	switch s.Measure {
	case "download", "upload":
		return fmt.Sprintf("%.2f MB/s", v["mbps"])
	case "http1", "http100":
		return fmt.Sprintf("%.0f req/s, p50 %.0f µs, p99 %.0f µs", v["rps"], v["p50_us"], v["p99_us"])
	case "udp":
		return fmt.Sprintf("p50 %.0f µs, p99 %.0f µs, loss %.1f%%", v["p50_us"], v["p99_us"], v["loss_pct"])
	case "mem":
		if s.Note != "" {
			return s.Note
		}
		return fmt.Sprintf("%.0f bytes per connection", v["per_conn"])
	}
	return ""
}
