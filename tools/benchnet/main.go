// Command benchnet is `make bench-net`: the ASH paper's experiment
// (Wallach, Engler and Kaashoek, SIGCOMM'96, figure 2) on Exo. It boots
// the echo environment beside 0, 1, 2, 4, 8 and 16 busy environments that
// never yield (testenv spin), and measures with exoping's library the
// round trip of ICMP echo, answered by a handler in the kernel as the
// frame arrives (the ASH path), and of UDP echo on port 9, answered by
// the environment from its ring when its slot comes up (the upcall path).
// It prints a table, and writes it as Markdown and CSV and the figure
// (RTT against busy environments, both paths, p50 and p99) as PNG.
//
//	benchnet -firmware build/qemu-virt/firmware.elf [-busy 0,1,2,4,8,16]
//	         [-ash 1000] [-upcall 200] [-interval 2ms] [-out build/bench-net]
//
// The NIC's peer is QEMU's -netdev dgram on 127.0.0.1 (no root). Every
// configuration is a fresh boot; the figures are wall-clock times of one
// run on this machine, meaningful side by side.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/exo-os/exo/internal/ping"
	"github.com/exo-os/exo/tools/qemu"
)

// Row is one configuration's measurements.
type Row struct {
	Busy          int
	ASH, Upcall   ping.Summary
	Quantum       time.Duration
	ASHCount      int
	UpcallCount   int
	ASHInterval   time.Duration
	UpcallTimeout time.Duration
}

func main() {
	firmware := flag.String("firmware", "build/qemu-virt/firmware.elf", "kernel ELF to boot")
	busyList := flag.String("busy", "0,1,2,4,8,16", "comma-separated `counts` of busy environments")
	ashCount := flag.Int("ash", 1000, "ICMP echoes (the ASH path) per configuration")
	upCount := flag.Int("upcall", 200, "UDP echoes to port 9 (the upcall path) per configuration")
	interval := flag.Duration("interval", 2*time.Millisecond, "time between probes")
	quantum := flag.Duration("quantum", 10*time.Millisecond, "the manifest's slot length")
	out := flag.String("out", "build/bench-net", "`prefix` of the .md, .csv and .png files written")
	floor := flag.String("floor", "", "bare-metal polled responder ELF (firmware/pollecho) to measure before and after, as the floor")
	flag.Parse()

	var busy []int
	for _, f := range strings.Split(*busyList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 60 {
			fail(fmt.Errorf("-busy %q: want counts from 0 to 60", *busyList))
		}
		busy = append(busy, n)
	}
	var floors []ping.Summary
	measureFloor := func() {
		if *floor == "" {
			return
		}
		s, err := measureFloor(*floor, *ashCount, *interval)
		if err != nil {
			fail(fmt.Errorf("the polled responder: %w", err))
		}
		fmt.Fprintf(os.Stderr, "benchnet: polled responder: p50 %v p99 %v mean %v\n", s.P50, s.P99, s.Mean)
		floors = append(floors, s)
	}
	measureFloor()
	var rows []Row
	for _, n := range busy {
		r, err := measure(*firmware, n, *ashCount, *upCount, *interval, *quantum)
		if err != nil {
			fail(fmt.Errorf("%d busy environments: %w", n, err))
		}
		fmt.Fprintf(os.Stderr, "benchnet: %2d busy: ASH p50 %v p99 %v; upcall p50 %v p99 %v\n", n, r.ASH.P50, r.ASH.P99, r.Upcall.P50, r.Upcall.P99)
		rows = append(rows, r)
	}
	measureFloor()
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fail(err)
	}
	md := table(rows) + floorTable(floors, rows)
	fmt.Print(md)
	for _, w := range []struct {
		ext   string
		write func(io.Writer) error
	}{
		{".md", func(w io.Writer) error { _, err := io.WriteString(w, md); return err }},
		{".csv", func(w io.Writer) error { return writeCSV(w, rows) }},
		{".png", func(w io.Writer) error { return drawFigure(w, rows) }},
	} {
		f, err := os.Create(*out + w.ext)
		if err != nil {
			fail(err)
		}
		if err := w.write(f); err != nil {
			fail(err)
		}
		if err := f.Close(); err != nil {
			fail(err)
		}
		fmt.Fprintf(os.Stderr, "benchnet: wrote %s\n", *out+w.ext)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchnet:", err)
	os.Exit(1)
}

// manifest is the echo environment and n busy ones, one slot each.
func manifest(n int, quantum time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "exo-manifest v1\nquantum %v\nslots %d\nenv echo\n", quantum, n+1)
	for i := 0; i < n; i++ {
		b.WriteString("env testenv arg=\"spin 3600000\"\n")
	}
	b.WriteString("net address=198.18.0.2/24\nnet env=echo guards=arp,icmp-echo,udp:7,udp:9\n")
	return b.String()
}

// measure boots one configuration and measures both paths.
func measure(firmware string, n, ashCount, upCount int, interval, quantum time.Duration) (Row, error) {
	row := Row{Busy: n, Quantum: quantum, ASHCount: ashCount, UpcallCount: upCount, ASHInterval: interval}
	qport, pport, err := ports()
	if err != nil {
		return row, err
	}
	lo := netip.MustParseAddr("127.0.0.1")
	tr, err := ping.ListenDgram(ping.DgramConfig{Local: netip.AddrPortFrom(lo, uint16(pport)), Remote: netip.AddrPortFrom(lo, uint16(qport))})
	if err != nil {
		return row, err
	}
	defer tr.Close()
	m, err := qemu.Start(qemu.Config{Firmware: firmware, Manifest: manifest(n, quantum), Timeout: 10 * time.Minute, Extra: qemu.DgramArgs(qport, pport)}, nil)
	if err != nil {
		return row, err
	}
	defer m.Stop()
	if err := m.WaitFor("echo: 198.18.0.2/24", 3*time.Minute); err != nil {
		return row, fmt.Errorf("%w\n%s", err, m.Console())
	}
	time.Sleep(time.Duration(n+1) * quantum * 4) // the busy environments are built and spinning
	target := netip.MustParseAddr(qemu.GuestAddr)
	// The upcall path waits for the echo environment's slot: up to n
	// quanta; its timeout allows for that.
	row.UpcallTimeout = 2*time.Second + time.Duration(n+1)*quantum*4
	for _, p := range []struct {
		proto   string
		port    uint16
		count   int
		timeout time.Duration
		into    *ping.Summary
	}{
		{"icmp", 0, ashCount, 2 * time.Second, &row.ASH},
		{"udp", 9, upCount, row.UpcallTimeout, &row.Upcall},
	} {
		res, err := ping.Run(context.Background(), ping.Config{Proto: p.proto, Target: target, Port: p.port, Count: p.count, Interval: interval, Timeout: p.timeout}, tr)
		if err != nil {
			return row, err
		}
		*p.into = res.Summary
		if res.Summary.Received == 0 {
			return row, fmt.Errorf("%s: no replies\n%s", p.proto, m.Console())
		}
	}
	if !m.Running() {
		return row, fmt.Errorf("the machine stopped\n%s", m.Console())
	}
	// Every busy environment must have spun throughout: one that died
	// (out of memory, say) would make the upcall path look fast.
	if c := m.Console(); strings.Contains(c, "(testenv) exited") || strings.Contains(c, "(testenv) killed") {
		return row, fmt.Errorf("a busy environment ended during the measurement\n%s", c)
	}
	return row, nil
}

// measureFloor boots the polled responder and measures ICMP echo.
func measureFloor(elf string, count int, interval time.Duration) (ping.Summary, error) {
	qport, pport, err := ports()
	if err != nil {
		return ping.Summary{}, err
	}
	lo := netip.MustParseAddr("127.0.0.1")
	tr, err := ping.ListenDgram(ping.DgramConfig{Local: netip.AddrPortFrom(lo, uint16(pport)), Remote: netip.AddrPortFrom(lo, uint16(qport))})
	if err != nil {
		return ping.Summary{}, err
	}
	defer tr.Close()
	m, err := qemu.Start(qemu.Config{Firmware: elf, Timeout: 5 * time.Minute, Extra: qemu.DgramArgs(qport, pport)}, nil)
	if err != nil {
		return ping.Summary{}, err
	}
	defer m.Stop()
	if err := m.WaitFor("pollecho: 198.18.0.2", time.Minute); err != nil {
		return ping.Summary{}, fmt.Errorf("%w\n%s", err, m.Console())
	}
	res, err := ping.Run(context.Background(), ping.Config{Proto: "icmp", Target: netip.MustParseAddr(qemu.GuestAddr), Count: count, Interval: interval, Timeout: 2 * time.Second}, tr)
	if err != nil {
		return ping.Summary{}, err
	}
	return res.Summary, nil
}

// floorTable compares the ASH path with the polled responder measured
// before and after the sweep.
func floorTable(floors []ping.Summary, rows []Row) string {
	if len(floors) == 0 || len(rows) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n| polled bare-metal responder (firmware/pollecho) | mean µs | p50 | p99 |\n|---|---:|---:|---:|\n")
	var mean time.Duration
	for i, f := range floors {
		when := "before"
		if i > 0 {
			when = "after"
		}
		fmt.Fprintf(&b, "| %s the sweep | %s | %s | %s |\n", when, us(f.Mean), us(f.P50), us(f.P99))
		mean += f.Mean
	}
	mean /= time.Duration(len(floors))
	var ash time.Duration
	for _, r := range rows {
		ash += r.ASH.Mean
	}
	ash /= time.Duration(len(rows))
	fmt.Fprintf(&b, "\nASH mean over the sweep / responder mean: %s / %s µs = %.2f\n", us(ash), us(mean), float64(ash)/float64(max(mean, 1)))
	return b.String()
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

func us(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d.Nanoseconds())/1000) }

// table is the Markdown table of the rows.
func table(rows []Row) string {
	var b strings.Builder
	b.WriteString("| busy envs | ASH mean µs | ASH p50 | ASH p99 | ASH loss | upcall mean µs | upcall p50 | upcall p99 | upcall loss | upcall p50 / ASH p50 |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		ratio := float64(r.Upcall.P50) / float64(max(r.ASH.P50, 1))
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %d/%d | %s | %s | %s | %d/%d | %.1f |\n", r.Busy,
			us(r.ASH.Mean), us(r.ASH.P50), us(r.ASH.P99), r.ASH.Lost+r.ASH.Corrupt, r.ASH.Sent,
			us(r.Upcall.Mean), us(r.Upcall.P50), us(r.Upcall.P99), r.Upcall.Lost+r.Upcall.Corrupt, r.Upcall.Sent, ratio)
	}
	return b.String()
}

func writeCSV(w io.Writer, rows []Row) error {
	if _, err := fmt.Fprintln(w, "busy,path,sent,received,lost,corrupt,min_us,p50_us,p90_us,p99_us,max_us,mean_us,stddev_us"); err != nil {
		return err
	}
	for _, r := range rows {
		for _, p := range []struct {
			name string
			s    ping.Summary
		}{{"ash", r.ASH}, {"upcall", r.Upcall}} {
			s := p.s
			if _, err := fmt.Fprintf(w, "%d,%s,%d,%d,%d,%d,%s,%s,%s,%s,%s,%s,%s\n", r.Busy, p.name, s.Sent, s.Received, s.Lost, s.Corrupt,
				us(s.Min), us(s.P50), us(s.P90), us(s.P99), us(s.Max), us(s.Mean), us(s.StdDev)); err != nil {
				return err
			}
		}
	}
	return nil
}
