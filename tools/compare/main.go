// Command compare is `make compare`: Exo against a Linux 6.1 guest on the
// same QEMU machine (docs/COMPARE.md). Each run boots, one after another,
// Exo with the bench manifest (the trap-path figures), Exo with `testenv
// exc bench` (exception dispatch), Exo with the network demo (the ping
// paths) and the Linux guest of `make linux-guest`
// (its init measures the same trap-path figures and then echoes UDP; its
// kernel answers ICMP), so that drift on a shared machine falls on both.
// Each run then sweeps the busy counts of -busy: Exo's network demo
// beside N busy environments, the Linux guest beside N busy processes
// (the ASH paper's figure 2 with Linux's line; OUT-busy.png). With -net
// tap it also measures HTTP and TCP against the same server,
// internal/httpdemo on Go's net/http, over Exo's libOS stack (httpd in
// the network demo) and over Linux's (linux/init's httpd), with
// tools/benchstack's client.
// It prints the tables with an Exo column, a Linux column and their ratio
// (median and spread over runs), and writes them as Markdown and CSV, the
// figure as PNG, and every ping probe as CSV (OUT-probes.csv).
//
//	compare -firmware build/qemu-virt/firmware.elf -linux build/linux/Image
//	        [-runs 3] [-icmp 500] [-udp 200] [-interval 2ms] [-net tap|dgram]
//	        [-busy 0,4,16] [-busy-icmp 200] [-busy-udp 100]
//	        [-http=true] [-http-size 16777216] [-http-seq 200] [-http-conns 100] [-http-per 5]
//	        [-out build/compare]
//
// The host side of the network is, as for `make run NET=tap`, a tap device
// in a network namespace of its own (root); -net dgram uses QEMU's dgram
// netdev with internal/ping as the NIC's peer (no root). The probes are
// internal/ping's (exoping's engine) in both cases.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/exo-os/exo/internal/ping"
	"github.com/exo-os/exo/tools/qemu"
)

// Options are the command's flags.
type Options struct {
	Firmware, Image            string
	BenchManifest, NetManifest string
	Runs, ICMP, UDP            int
	Interval                   time.Duration
	Net, Out                   string
	SkipExo                    bool
	// Busy is the -busy flag: the busy sweep's counts; BusyICMP and
	// BusyUDP its probes per path and count.
	Busy              string
	BusyICMP, BusyUDP int
	busy              []int
	// HTTP is the -http flag: measure HTTP and TCP (needs -net tap);
	// HTTPCounts its sizes.
	HTTP bool
	HTTPCounts
	benchText, netText string
	// timeout is a probe's wait for its reply (2 s if zero).
	timeout time.Duration
}

func main() {
	var o Options
	flag.StringVar(&o.Firmware, "firmware", "build/qemu-virt/firmware.elf", "Exo kernel ELF")
	flag.StringVar(&o.Image, "linux", "build/linux/Image", "the Linux guest's kernel (make linux-guest)")
	flag.StringVar(&o.BenchManifest, "bench-manifest", "tools/exorun/bench.manifest", "Exo's manifest for the trap-path figures")
	flag.StringVar(&o.NetManifest, "net-manifest", "firmware/qemu-virt/net.manifest", "Exo's manifest for the ping paths (the network demo)")
	flag.IntVar(&o.Runs, "runs", 3, "runs of each system, interleaved")
	flag.IntVar(&o.ICMP, "icmp", 500, "ICMP echoes per path per run")
	flag.IntVar(&o.UDP, "udp", 200, "UDP echoes per path per run")
	flag.DurationVar(&o.Interval, "interval", 2*time.Millisecond, "time between probes")
	flag.StringVar(&o.Net, "net", "", "host side of the NIC: tap (root; the default as root) or dgram (no root)")
	flag.StringVar(&o.Out, "out", "build/compare", "`prefix` of the .md, .csv and .png files")
	flag.BoolVar(&o.SkipExo, "linux-only", false, "boot the Linux guest only (Exo's column stays empty)")
	flag.StringVar(&o.Busy, "busy", "0,4,16", "busy environments / processes of the RTT sweep, comma-separated (the full figure: 0,1,2,4,8,16; none: no sweep)")
	flag.IntVar(&o.BusyICMP, "busy-icmp", 200, "ICMP echoes per path, busy count and run in the sweep")
	flag.IntVar(&o.BusyUDP, "busy-udp", 100, "UDP echoes per path, busy count and run in the sweep")
	flag.BoolVar(&o.HTTP, "http", true, "measure HTTP and TCP against Exo's httpd and the Linux guest's (needs -net tap)")
	flag.Int64Var(&o.Size, "http-size", 16<<20, "bytes of each GET /download and POST /upload")
	flag.IntVar(&o.Seq, "http-seq", 200, "sequential GET / on one keep-alive connection")
	flag.IntVar(&o.Conns, "http-conns", 100, "parallel keep-alive connections")
	flag.IntVar(&o.PerConn, "http-per", 5, "GET / per parallel connection")
	flag.Parse()
	if o.Net == "" {
		o.Net = "dgram"
		if os.Geteuid() == 0 {
			o.Net = "tap"
		}
	}
	if err := preflight(&o); err != nil {
		fail(err)
	}
	if o.clientDir != "" {
		defer os.RemoveAll(o.clientDir)
	}
	var runs []Run
	for i := 1; i <= o.Runs; i++ {
		r, err := oneRun(o, i)
		if err != nil {
			if o.clientDir != "" {
				os.RemoveAll(o.clientDir)
			}
			fail(fmt.Errorf("run %d: %w", i, err))
		}
		runs = append(runs, r)
	}
	if err := report(o, runs, os.Stdout); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "compare:", strings.TrimPrefix(err.Error(), "compare: "))
	os.Exit(1)
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "compare: "+format+"\n", args...) }

// preflight checks everything the runs need before the first boot, so
// that a missing piece fails with its name rather than an empty table.
func preflight(o *Options) error {
	if o.Runs < 1 || o.ICMP < 1 || o.UDP < 1 || o.BusyICMP < 1 || o.BusyUDP < 1 {
		return errors.New("compare: -runs, -icmp, -udp, -busy-icmp and -busy-udp must be at least 1")
	}
	busy, err := ParseBusy(o.Busy)
	if err != nil {
		return err
	}
	o.busy = busy
	if _, err := exec.LookPath(qemu.Binary); err != nil {
		return fmt.Errorf("compare: %s is not installed (Debian: apt-get install qemu-system-misc)", qemu.Binary)
	}
	if err := CheckImage(o.Image); err != nil {
		return err
	}
	switch o.Net {
	case "tap":
		if os.Geteuid() != 0 {
			return errors.New("compare: -net tap needs root (a network namespace and a tap device); -net dgram needs none")
		}
		if _, err := exec.LookPath("ip"); err != nil {
			return errors.New("compare: -net tap needs ip (Debian: apt-get install iproute2)")
		}
	case "dgram":
	default:
		return fmt.Errorf("compare: -net %q: want tap or dgram", o.Net)
	}
	if o.HTTP && o.Net != "tap" {
		logf("-net %s: no HTTP and TCP figures (they need -net tap)", o.Net)
		o.HTTP = false
	}
	if o.HTTP {
		if o.Size < 1 || o.Seq < 1 || o.Conns < 1 || o.PerConn < 1 {
			return errors.New("compare: -http-size, -http-seq, -http-conns and -http-per must be at least 1")
		}
		if err := buildClient(&o.HTTPCounts); err != nil {
			return err
		}
	}
	if o.SkipExo {
		return nil
	}
	if _, err := os.Stat(o.Firmware); err != nil {
		return fmt.Errorf("compare: no Exo firmware at %s: build it with `make firmware`", o.Firmware)
	}
	for _, m := range []struct {
		file string
		into *string
	}{{o.BenchManifest, &o.benchText}, {o.NetManifest, &o.netText}} {
		b, err := os.ReadFile(m.file)
		if err != nil {
			return fmt.Errorf("compare: manifest: %w", err)
		}
		*m.into = string(b)
	}
	return nil
}

// oneRun boots each system once.
func oneRun(o Options, i int) (Run, error) {
	r := Run{Ping: map[string]*ping.Result{}}
	if !o.SkipExo {
		start := time.Now()
		f, err := exoBench(o)
		if err != nil {
			return r, err
		}
		r.Exo = f
		logf("run %d: Exo bench boot: call %s, null %s (%.0f s)", i, dur(f["call"]), dur(f["null"]), time.Since(start).Seconds())
		start = time.Now()
		if x, err := exoExc(o); err != nil {
			// A firmware from before issue 13: the rows say "not yet".
			logf("run %d: Exo exception boot: %s; its rows say not yet", i, strings.TrimPrefix(err.Error(), "compare: "))
		} else {
			for k, v := range x {
				r.Exo[k] = v
			}
			logf("run %d: Exo exception boot: illegal instruction %s, misaligned AMO %s (%.0f s)", i, dur(x["exc-ill"]), dur(x["exc-amo"]), time.Since(start).Seconds())
		}
		for _, b := range []struct{ name, manifest, prefix string }{
			{"VM", vmManifest, "vm-"},
			{"IPC", ipcManifest, "ipc-"},
		} {
			start = time.Now()
			x, err := exoExOS(o, b.manifest, b.prefix)
			if err != nil {
				logf("run %d: Exo %s boot: %s; its rows say not yet", i, b.name, strings.TrimPrefix(err.Error(), "compare: "))
				continue
			}
			for k, v := range x {
				r.Exo[k] = v
			}
			logf("run %d: Exo %s boot: %d figures (%.0f s)", i, b.name, len(x), time.Since(start).Seconds())
		}
		start = time.Now()
		if err := exoNet(o, &r); err != nil {
			return r, err
		}
		logf("run %d: Exo network boot: ASH p50 %v, upcall p50 %v, libOS p50 %v (%.0f s)", i,
			r.Ping["exo-ash"].Summary.P50, r.Ping["exo-upcall"].Summary.P50, r.Ping["exo-libos"].Summary.P50, time.Since(start).Seconds())
		if f := r.HTTP["exo"]; f != nil {
			logf("run %d: Exo HTTP: %s", i, httpBrief(f))
		}
	}
	start := time.Now()
	c, err := linuxRun(o, &r)
	if err != nil {
		return r, err
	}
	r.Linux, r.LinuxNA = c.Figures, c.NA
	logf("run %d: Linux boot: call %s, getpid %s, ICMP p50 %v, UDP p50 %v (%.0f s)", i, dur(c.Figures["call"]), dur(c.Figures["getpid"]),
		r.Ping["linux-icmp"].Summary.P50, r.Ping["linux-udp"].Summary.P50, time.Since(start).Seconds())
	if f := r.HTTP["linux"]; f != nil {
		logf("run %d: Linux HTTP: %s", i, httpBrief(f))
	}
	// The busy sweep: each count on Exo, then on Linux.
	for _, n := range o.busy {
		if r.Busy == nil {
			r.Busy = map[int]map[string]ping.Summary{}
		}
		into := map[string]ping.Summary{}
		r.Busy[n] = into
		if !o.SkipExo {
			start = time.Now()
			if err := exoBusy(o, n, into); err != nil {
				return r, err
			}
			logf("run %d: Exo, %d busy: ASH p50 %v p99 %v, ring p50 %v p99 %v (%.0f s)", i, n, into["exo-ash"].P50, into["exo-ash"].P99,
				into["exo-upcall"].P50, into["exo-upcall"].P99, time.Since(start).Seconds())
		}
		start = time.Now()
		if err := linuxBusy(o, n, into); err != nil {
			return r, err
		}
		logf("run %d: Linux, %d busy: ICMP p50 %v p99 %v, UDP p50 %v p99 %v (%.0f s)", i, n, into["linux-icmp"].P50, into["linux-icmp"].P99,
			into["linux-udp"].P50, into["linux-udp"].P99, time.Since(start).Seconds())
	}
	return r, nil
}

// exoBench boots the bench manifest and parses its figures.
func exoBench(o Options) (Figures, error) {
	res, err := qemu.Run(context.Background(), qemu.Config{Firmware: o.Firmware, Manifest: o.benchText, Timeout: 5 * time.Minute})
	if err != nil {
		return nil, fmt.Errorf("compare: Exo bench boot: %w", err)
	}
	f, err := ParseExoBench(res.Console)
	if err != nil {
		return nil, fmt.Errorf("%w (exit %d, timed out %v); console:\n%s", err, res.ExitCode, res.TimedOut, tail(res.Console, 30))
	}
	return f, nil
}

// excManifest runs the exception-dispatch figures of issue 13.
const excManifest = "exo-manifest v1\nenv testenv arg=\"exc bench\"\n"

// vmManifest and ipcManifest run the ExOS virtual-memory and IPC tables
// (tools/exorun/vm.manifest, firmware/envs/testenv/ipcbench.manifest).
const (
	vmManifest  = "exo-manifest v1\nquantum 10ms\nslots 4\nenv testenv arg=\"vm bench\"\n"
	ipcManifest = "exo-manifest v1\nquantum 10ms\nslots 4\nenv testenv arg=\"ipc 2000 bench\" spare=24M spawn=yes\n"
)

// exoExOS boots manifest and parses its "bench:" figures under prefix.
func exoExOS(o Options, manifest, prefix string) (Figures, error) {
	res, err := qemu.Run(context.Background(), qemu.Config{Firmware: o.Firmware, Manifest: manifest, Timeout: 5 * time.Minute})
	if err != nil {
		return nil, fmt.Errorf("compare: Exo %sbench boot: %w", prefix, err)
	}
	return ParseExoExOS(res.Console, prefix)
}

// exoExc boots `testenv exc bench` and parses its figures.
func exoExc(o Options) (Figures, error) {
	res, err := qemu.Run(context.Background(), qemu.Config{Firmware: o.Firmware, Manifest: excManifest, Timeout: 3 * time.Minute})
	if err != nil {
		return nil, fmt.Errorf("compare: Exo exception boot: %w", err)
	}
	return ParseExoExc(res.Console)
}

// link is the host side of one boot's NIC.
type link struct {
	extra []string // QEMU's arguments
	wrap  []string // QEMU's command prefix
	do    func(func(ping.Transport) error) error
	close func()
	ns    *qemu.NetNS // tap only: the namespace, for the HTTP client
}

func newLink(kind string) (*link, error) {
	if kind == "tap" {
		ns, err := qemu.NewNetNS("exo-cmp")
		if err != nil {
			return nil, fmt.Errorf("compare: network namespace: %w", err)
		}
		return &link{extra: ns.TapArgs(), wrap: ns.Wrap(),
			do: func(f func(ping.Transport) error) error {
				raw := &ping.Raw{}
				defer raw.Close()
				return ns.Do(func() error { return f(raw) })
			},
			close: func() { ns.Close() }, ns: ns}, nil
	}
	qport, pport, err := ports()
	if err != nil {
		return nil, err
	}
	lo := netip.MustParseAddr("127.0.0.1")
	tr, err := ping.ListenDgram(ping.DgramConfig{Local: netip.AddrPortFrom(lo, uint16(pport)), Remote: netip.AddrPortFrom(lo, uint16(qport))})
	if err != nil {
		return nil, fmt.Errorf("compare: dgram peer: %w", err)
	}
	return &link{extra: qemu.DgramArgs(qport, pport),
		do:    func(f func(ping.Transport) error) error { return f(tr) },
		close: func() { tr.Close() }}, nil
}

// ports returns two UDP ports on 127.0.0.1 free a moment ago.
func ports() (int, int, error) {
	var p [2]int
	for i := range p {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, 0, err
		}
		defer c.Close()
		p[i] = c.LocalAddr().(*net.UDPAddr).Port
	}
	return p[0], p[1], nil
}

// probe measures the paths given by key into into, after a few warm-up
// probes per path (ARP, first-touch costs) that are not kept.
func probe(o Options, l *link, into map[string]*ping.Result, keys ...string) error {
	return l.do(func(tr ping.Transport) error {
		for _, k := range keys {
			var p Path
			for _, q := range Paths {
				if q.Key == k {
					p = q
				}
			}
			count := o.ICMP
			if p.Proto == "udp" {
				count = o.UDP
			}
			timeout := o.timeout
			if timeout == 0 {
				timeout = 2 * time.Second
			}
			cfg := ping.Config{Proto: p.Proto, Target: netip.MustParseAddr(qemu.GuestAddr), Port: p.Port, Interval: o.Interval, Timeout: timeout}
			warm := cfg
			warm.Count, warm.Interval = 10, 10*time.Millisecond
			if _, err := ping.Run(context.Background(), warm, tr); err != nil {
				return fmt.Errorf("compare: %s %s: %w", p.System, p.Name, err)
			}
			cfg.Count = count
			res, err := ping.Run(context.Background(), cfg, tr)
			if err != nil {
				return fmt.Errorf("compare: %s %s: %w", p.System, p.Name, err)
			}
			if res.Summary.Received == 0 {
				return fmt.Errorf("compare: %s %s: no replies to %d probes", p.System, p.Name, count)
			}
			into[k] = res
		}
		return nil
	})
}

// exoNet boots the network demo and measures Exo's paths into r.Ping,
// and, with o.HTTP, httpd's HTTP and TCP figures into r.HTTP["exo"].
func exoNet(o Options, r *Run) error {
	into := r.Ping
	l, err := newLink(o.Net)
	if err != nil {
		return err
	}
	defer l.close()
	m, err := qemu.Start(qemu.Config{Firmware: o.Firmware, Manifest: o.netText, Timeout: 10 * time.Minute, Extra: l.extra}, l.wrap)
	if err != nil {
		return fmt.Errorf("compare: Exo network boot: %w", err)
	}
	defer m.Stop()
	if err := m.WaitFor("echo: 198.18.0.2/24", 3*time.Minute); err != nil {
		return fmt.Errorf("compare: Exo network boot: %w; console:\n%s", err, tail(m.Console(), 30))
	}
	// Both stacks' servers (httpd and ghttpd) up, so that no environment
	// is still being built while the probes run.
	if err := waitCount(m, "stack serving", strings.Count(o.netText, "env httpd")+strings.Count(o.netText, "env ghttpd"), 3*time.Minute); err != nil {
		return fmt.Errorf("compare: Exo network boot: %w; console:\n%s", err, tail(m.Console(), 30))
	}
	time.Sleep(time.Second)
	if err := probe(o, l, into, "exo-ash", "exo-upcall", "exo-libos"); err != nil {
		return fmt.Errorf("%w; console:\n%s", err, tail(m.Console(), 30))
	}
	if !m.Running() {
		return fmt.Errorf("compare: the Exo machine stopped during the ping run; console:\n%s", tail(m.Console(), 30))
	}
	if o.HTTP {
		f, err := runHTTP(o.HTTPCounts, l.ns.Wrap(), "exo", qemu.GuestAddr+":80")
		if err != nil {
			return fmt.Errorf("%w; console:\n%s", err, tail(m.Console(), 30))
		}
		r.setHTTP("exo", f)
	}
	return nil
}

// linuxRun boots the Linux guest, waits for its measurements and echo
// server, and measures its paths into r.Ping; with o.HTTP the guest also
// starts its HTTP server (compare.http=80), measured into r.HTTP["linux"].
func linuxRun(o Options, r *Run) (LinuxConsole, error) {
	into := r.Ping
	l, err := newLink(o.Net)
	if err != nil {
		return LinuxConsole{}, err
	}
	defer l.close()
	var opts []string
	if o.HTTP {
		opts = append(opts, "compare.http=80")
	}
	g, err := StartGuest(l.wrap, LinuxArgsWith(o.Image, "", opts, l.extra), 10*time.Minute)
	if err != nil {
		return LinuxConsole{}, err
	}
	defer g.Stop()
	got, err := g.WaitFor(5*time.Minute, "ready: udp echo on", "measure: error", "Kernel panic")
	if err == nil && got != "ready: udp echo on" {
		time.Sleep(200 * time.Millisecond) // the rest of the line
		err = fmt.Errorf("compare: the Linux guest failed (%q)", got)
	}
	c := ParseLinux(g.Console())
	if err == nil {
		err = c.Check()
	}
	if err != nil {
		return c, fmt.Errorf("%w; console:\n%s", err, tail(g.Console(), 30))
	}
	if err := probe(o, l, into, "linux-icmp", "linux-udp"); err != nil {
		return c, fmt.Errorf("%w; console:\n%s", err, tail(g.Console(), 30))
	}
	if o.HTTP {
		if _, err := g.WaitFor(time.Minute, "ready: http on"); err != nil {
			return c, fmt.Errorf("%w; console:\n%s", err, tail(g.Console(), 30))
		}
		f, err := runHTTP(o.HTTPCounts, l.ns.Wrap(), "linux", qemu.GuestAddr+":80")
		if err != nil {
			return c, fmt.Errorf("%w; console:\n%s", err, tail(g.Console(), 30))
		}
		r.setHTTP("linux", f)
	}
	return c, nil
}

// waitCount waits until m's console holds s n times.
func waitCount(m *qemu.Machine, s string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for strings.Count(m.Console(), s) < n {
		if !m.Running() {
			return fmt.Errorf("compare: the machine stopped before printing %q %d times", s, n)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("compare: %q printed fewer than %d times after %v", s, n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// report prints the tables and writes the files.
func report(o Options, runs []Run, stdout io.Writer) error {
	rows, paths, busy, web := Compute(runs), ComputePaths(runs), ComputeBusy(runs), ComputeHTTP(runs)
	md := Markdown(rows, paths, len(runs)) + BusyMarkdown(busy, len(runs)) + HTTPMarkdown(web, len(runs), o.HTTPCounts)
	fmt.Fprint(stdout, md)
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
		return err
	}
	for _, w := range []struct {
		ext   string
		write func(io.Writer) error
	}{
		{".md", func(w io.Writer) error { _, err := io.WriteString(w, md); return err }},
		{".csv", func(w io.Writer) error {
			return WriteCSV(w, rows, paths, busyCSVRecords(busy), httpCSVRecords(web, o.HTTPCounts))
		}},
		{".png", func(w io.Writer) error { return WritePNG(w, rows, runs) }},
		{"-probes.csv", func(w io.Writer) error { return WriteProbes(w, runs) }},
		{"-busy.png", func(w io.Writer) error { return WriteBusyPNG(w, busy) }},
	} {
		if w.ext == "-busy.png" && len(busy) == 0 {
			continue
		}
		f, err := os.Create(o.Out + w.ext)
		if err != nil {
			return err
		}
		err = w.write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("compare: writing %s: %w", o.Out+w.ext, err)
		}
		logf("wrote %s", o.Out+w.ext)
	}
	return nil
}
