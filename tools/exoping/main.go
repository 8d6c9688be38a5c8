// Command exoping measures round trips to an Exo guest in QEMU, which
// answers ICMP echo and UDP echo from in-kernel handlers.
//
//	exoping [flags] TARGET
//
// By default (-via dgram) exoping needs no root: it is the guest NIC's
// peer over QEMU's -netdev dgram, a host with its own MAC and IPv4 address
// (-mac, -ip) on the guest's Ethernet, which it speaks frame by frame.
// Start QEMU with
//
//	-netdev dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=10100,remote.type=inet,remote.host=127.0.0.1,remote.port=10101
//
// and give exoping the other ends: -dgram-local 127.0.0.1:10101 (exoping
// binds it; QEMU's remote) and -dgram-remote 127.0.0.1:10100 (QEMU's
// local), the defaults. With -via raw, exoping uses the host's stack
// instead: ICMP through a raw socket (root or CAP_NET_RAW) or an
// unprivileged ICMP socket (net.ipv4.ping_group_range), UDP through a
// UDP socket; use it for a guest on a tap device.
//
// exoping prints a line per reply, as ping does ("64 bytes from
// 198.18.0.2: seq=3 time=0.152 ms"), unless -q, then a summary: counts of
// probes sent, good replies, lost, corrupt (a payload or checksum that
// differs from what was sent), duplicate and late replies, and the RTT's
// min/avg/max/mdev and nearest-rank percentiles p50/p90/p99/p99.9. -hist
// adds an RTT histogram; -csv, -json and -png save every probe's record
// and a chart. Interrupting exoping (SIGINT, SIGTERM) stops the run and
// prints the summary of the probes sent.
//
// Exit status: 0 if every probe sent got a good reply, 1 if some were lost
// or corrupt, 2 for a usage or setup error (the message says what).
//
// Examples:
//
//	exoping 198.18.0.2
//	exoping -proto udp -c 10000 -i 1ms -q -hist -png rtt.png 198.18.0.2
//	sudo exoping -via raw -c 5 198.18.0.2
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/exo-os/exo/internal/ping"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitGood  = 0
	exitBad   = 1 // lost or corrupt probes
	exitUsage = 2 // usage or setup error
)

// options are the parsed command line.
type options struct {
	cfg          ping.Config
	via          string
	dgram        ping.DgramConfig
	quiet, hist  bool
	csv, js, png string
}

// usageError is a mistake on the command line.
type usageError struct{ msg string }

// Error returns the message.
func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func parse(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("exoping", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exoping [flags] TARGET\n\nMeasures ICMP or UDP echo round trips to an Exo guest in QEMU.\n\nFlags:")
		fs.PrintDefaults()
	}
	proto := fs.String("proto", "icmp", "probe `protocol`: icmp (echo request) or udp (a datagram to an echo service)")
	port := fs.Uint("port", ping.DefaultPort, "the target's UDP echo `port`, with -proto udp")
	count := fs.Int("c", 10, "`count` of probes to send")
	interval := fs.Duration("i", ping.DefaultInterval, "`interval` from one probe to the next, such as 10ms")
	size := fs.Int("s", ping.DefaultSize, "payload `bytes` per probe: ICMP data, or the UDP payload including exoping's 8-byte probe header")
	timeout := fs.Duration("W", ping.DefaultTimeout, "`time` to wait for a probe's reply before it counts as lost")
	quiet := fs.Bool("q", false, "print only the summary (and a progress line when stderr is a terminal)")
	csvFile := fs.String("csv", "", "write every probe's record to `file` as CSV")
	jsonFile := fs.String("json", "", "write the result, every probe and the summary, to `file` as JSON")
	pngFile := fs.String("png", "", "draw the RTT histogram and the RTT of each probe to `file` as PNG")
	hist := fs.Bool("hist", false, "print a histogram of the RTTs")
	via := fs.String("via", "dgram", "`transport`: dgram (QEMU's -netdev dgram peer; no root) or raw (the host's network stack)")
	local := fs.String("dgram-local", "127.0.0.1:10101", "`address` exoping binds with -via dgram: QEMU's remote.host:remote.port")
	remote := fs.String("dgram-remote", "127.0.0.1:10100", "`address` QEMU binds with -via dgram: its local.host:local.port")
	mac := fs.String("mac", ping.DefaultMAC.String(), "exoping's own Ethernet `address` with -via dgram")
	ip := fs.String("ip", ping.DefaultPrefix.String(), "exoping's own IPv4 `address/bits` with -via dgram (a bare address means /24)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	o := &options{via: *via, quiet: *quiet, hist: *hist, csv: *csvFile, js: *jsonFile, png: *pngFile}
	if fs.NArg() != 1 {
		return nil, usagef("want one target address, got %d arguments", fs.NArg())
	}
	target, err := netip.ParseAddr(fs.Arg(0))
	if err != nil || !target.Unmap().Is4() {
		return nil, usagef("target %q: want an IPv4 address such as 198.18.0.2", fs.Arg(0))
	}
	switch *proto {
	case "icmp":
		if set["port"] {
			return nil, usagef("-port applies only to -proto udp")
		}
	case "udp":
		if *port < 1 || *port > 65535 {
			return nil, usagef("-port %d: want 1 to 65535", *port)
		}
	default:
		return nil, usagef("-proto %q: want icmp or udp", *proto)
	}
	if *count < 1 {
		return nil, usagef("-c %d: want at least 1 probe", *count)
	}
	if *interval <= 0 {
		return nil, usagef("-i %v: want a positive interval", *interval)
	}
	if *timeout <= 0 {
		return nil, usagef("-W %v: want a positive timeout", *timeout)
	}
	least := 1
	if *proto == "udp" {
		least = ping.UDPHeaderLen
	}
	if *size < least || *size > ping.MaxSize {
		return nil, usagef("-s %d: want %d to %d bytes for %s", *size, least, ping.MaxSize, *proto)
	}
	o.cfg = ping.Config{
		Proto: *proto, Target: target.Unmap(), Port: uint16(*port), Count: *count,
		Interval: *interval, Timeout: *timeout, Size: *size,
	}

	switch *via {
	case "raw":
		for _, name := range []string{"dgram-local", "dgram-remote", "mac", "ip"} {
			if set[name] {
				return nil, usagef("-%s applies only to -via dgram", name)
			}
		}
	case "dgram":
		d := &o.dgram
		if d.Local, err = netip.ParseAddrPort(*local); err != nil {
			return nil, usagef("-dgram-local %q: want host:port such as 127.0.0.1:10101", *local)
		}
		if d.Remote, err = netip.ParseAddrPort(*remote); err != nil {
			return nil, usagef("-dgram-remote %q: want host:port such as 127.0.0.1:10100", *remote)
		}
		if d.MAC, err = ping.ParseMAC(*mac); err != nil || d.MAC[0]&1 != 0 || d.MAC == (ping.MAC{}) {
			return nil, usagef("-mac %q: want a unicast Ethernet address such as 02:00:00:00:00:01", *mac)
		}
		if d.Prefix, err = parsePrefix(*ip); err != nil {
			return nil, usagef("-ip %q: want an IPv4 address/bits such as 198.18.0.1/24", *ip)
		}
		if !d.Prefix.Contains(o.cfg.Target) || d.Prefix.Addr() == o.cfg.Target {
			return nil, usagef("target %v is not another host on -ip %v's subnet: -via dgram has no router", o.cfg.Target, d.Prefix)
		}
	default:
		return nil, usagef("-via %q: want dgram or raw", *via)
	}
	return o, nil
}

// parsePrefix parses "a.b.c.d/n" or a bare "a.b.c.d" (as /24), IPv4 only.
func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		s += "/24"
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return p, err
	}
	if !p.Addr().Is4() || p.Bits() > 30 {
		return p, errors.New("not an IPv4 subnet with room for two hosts")
	}
	return p, nil
}

// run is the command, minus the process: it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitGood
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "exoping: %v\nusage: exoping [flags] TARGET (exoping -h lists the flags)\n", err)
		return exitUsage
	}
	if err != nil {
		return exitUsage // the flag package has said what
	}

	// Create the output files first, so that a bad path fails before the
	// measurement rather than after it.
	var files []*os.File
	create := func(name string) *os.File {
		if name == "" || err != nil {
			return nil
		}
		var f *os.File
		if f, err = os.Create(name); err == nil {
			files = append(files, f)
		}
		return f
	}
	csvOut, jsonOut, pngOut := create(o.csv), create(o.js), create(o.png)
	discard := func() {
		for _, f := range files {
			f.Close()
			os.Remove(f.Name())
		}
	}
	if err != nil {
		discard()
		fmt.Fprintf(stderr, "exoping: %v\n", err)
		return exitUsage
	}

	var t ping.Transport
	desc := "via the host's network stack"
	switch o.via {
	case "raw":
		r := &ping.Raw{}
		defer r.Close()
		t = r
	case "dgram":
		d, err := ping.ListenDgram(o.dgram)
		if err != nil {
			discard()
			fmt.Fprintf(stderr, "exoping: %v\n", err)
			return exitUsage
		}
		defer d.Close()
		t = d
		desc = fmt.Sprintf("via QEMU -netdev dgram (%v -> %v) as %v %v", d.LocalAddr(), o.dgram.Remote, o.dgram.Prefix, o.dgram.MAC)
	}

	cfg := o.cfg
	if !o.quiet {
		what := cfg.Proto
		if cfg.Proto == "udp" {
			what = fmt.Sprintf("udp port %d", cfg.Port)
		}
		fmt.Fprintf(stdout, "EXOPING %v: %d data bytes, %s %s\n", cfg.Target, cfg.Size, what, desc)
		cfg.Trace = func(ev ping.Event) { fmt.Fprintln(stdout, traceLine(ev, cfg.Timeout)) }
	} else if isTerminal(stderr) {
		cfg.Progress = stderr
	}

	res, err := ping.Run(ctx, cfg, t)
	if res == nil {
		discard()
		fmt.Fprintf(stderr, "exoping: %v\n", err)
		return exitUsage
	}
	code := exitGood
	if res.Summary.Lost > 0 || res.Summary.Corrupt > 0 || res.Summary.Sent == 0 {
		code = exitBad
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "exoping: %v\n", err)
		code = exitUsage
	}
	if !o.quiet {
		fmt.Fprintln(stdout)
	}
	ping.WriteSummary(stdout, res)
	if o.hist {
		fmt.Fprintln(stdout)
		ping.WriteHistogram(stdout, res.Probes, 0)
	}
	for _, out := range []struct {
		f     *os.File
		write func(io.Writer) error
	}{
		{csvOut, func(w io.Writer) error { return ping.WriteCSV(w, res.Probes) }},
		{jsonOut, func(w io.Writer) error { return ping.WriteJSON(w, res) }},
		{pngOut, func(w io.Writer) error { return ping.WritePNG(w, res) }},
	} {
		if out.f == nil {
			continue
		}
		err := out.write(out.f)
		if cerr := out.f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintf(stderr, "exoping: writing %s: %v\n", out.f.Name(), err)
			code = exitUsage
		}
	}
	return code
}

// traceLine formats one event as ping would.
func traceLine(ev ping.Event, timeout time.Duration) string {
	p := ev.Probe
	switch ev.Kind {
	case ping.EventLost:
		if p.Reason != "" {
			return fmt.Sprintf("seq=%d lost: %s", p.Seq, p.Reason)
		}
		return fmt.Sprintf("seq=%d lost: no reply within %v", p.Seq, timeout)
	}
	line := fmt.Sprintf("%d bytes from %v: seq=%d time=%.3f ms", ev.Bytes, ev.From, p.Seq, ev.RTT.Seconds()*1000)
	switch ev.Kind {
	case ping.EventCorrupt:
		line += " CORRUPT: " + p.Reason
	case ping.EventDuplicate:
		line += " (DUP!)"
	case ping.EventLate:
		line += fmt.Sprintf(" (LATE: after the %v timeout)", timeout)
	}
	return line
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
