package main

import (
	"fmt"
	"image/color"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exo-os/exo/internal/ping"
	"github.com/exo-os/exo/tools/qemu"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The busy sweep (the ASH paper's figure 2 with Linux's line): echo round
// trips with N busy environments on Exo (testenv spin, as tools/benchnet)
// beside the network demo, and with N busy processes on Linux (/measure
// spin, started by linux/init for compare.busy=N).

// BusyPaths are the sweep's paths, by Paths key: Exo's ASH and ring
// (upcall) paths, Linux's kernel ICMP and user-space UDP echo.
var BusyPaths = []string{"exo-ash", "exo-upcall", "linux-icmp", "linux-udp"}

// ParseBusy parses the -busy flag: comma-separated counts from 0 to 32,
// each once; "" or "none" is no sweep.
func ParseBusy(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return nil, nil
	}
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 32 {
			return nil, fmt.Errorf("compare: -busy %q: want comma-separated counts from 0 to 32", s)
		}
		if slices.Contains(ns, n) {
			return nil, fmt.Errorf("compare: -busy %q: %d twice", s, n)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// BusyManifest is the network demo's manifest with n busy environments
// (testenv spin, never yielding) after its own, and its slots line raised
// by n so that each has a slot. It fails if the manifest has no slots or
// env line.
func BusyManifest(manifest string, n int) (string, error) {
	lines := strings.Split(strings.TrimRight(manifest, "\n"), "\n")
	lastEnv, slots := -1, -1
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "env":
			lastEnv = i
		case "slots":
			if len(f) != 2 {
				return "", fmt.Errorf("compare: manifest line %d: %q: want slots N", i+1, l)
			}
			k, err := strconv.Atoi(f[1])
			if err != nil {
				return "", fmt.Errorf("compare: manifest line %d: %q: want slots N", i+1, l)
			}
			lines[i] = fmt.Sprintf("slots %d", k+n)
			slots = i
		}
	}
	if lastEnv < 0 || slots < 0 {
		return "", fmt.Errorf("compare: the network manifest has no env or no slots line")
	}
	var b strings.Builder
	for i, l := range lines {
		b.WriteString(l + "\n")
		if i == lastEnv {
			for range n {
				b.WriteString("env testenv arg=\"spin 3600000\"\n")
			}
		}
	}
	return b.String(), nil
}

// probeBusy is probe with the sweep's counts and a timeout that allows
// for the upcall path's wait for its slot.
func probeBusy(o Options, l *link, n int, into map[string]ping.Summary, keys ...string) error {
	res := map[string]*ping.Result{}
	q := o
	q.ICMP, q.UDP = o.BusyICMP, o.BusyUDP
	q.timeout = 2*time.Second + time.Duration(n+1)*40*time.Millisecond
	if err := probe(q, l, res, keys...); err != nil {
		return err
	}
	for k, r := range res {
		into[k] = r.Summary
	}
	return nil
}

// exoBusy boots the network demo with n busy environments and measures
// the ASH and ring paths.
func exoBusy(o Options, n int, into map[string]ping.Summary) error {
	manifest, err := BusyManifest(o.netText, n)
	if err != nil {
		return err
	}
	l, err := newLink(o.Net)
	if err != nil {
		return err
	}
	defer l.close()
	m, err := qemu.Start(qemu.Config{Firmware: o.Firmware, Manifest: manifest, Timeout: 10 * time.Minute, Extra: l.extra}, l.wrap)
	if err != nil {
		return fmt.Errorf("compare: Exo busy boot: %w", err)
	}
	defer m.Stop()
	if err := m.WaitFor("echo: 198.18.0.2/24", 3*time.Minute); err != nil {
		return fmt.Errorf("compare: Exo busy boot (%d): %w; console:\n%s", n, err, tail(m.Console(), 30))
	}
	if err := waitCount(m, "stack serving", strings.Count(o.netText, "env httpd")+strings.Count(o.netText, "env ghttpd"), 3*time.Minute); err != nil {
		return fmt.Errorf("compare: Exo busy boot (%d): %w; console:\n%s", n, err, tail(m.Console(), 30))
	}
	// The busy environments built and spinning (tools/benchnet's wait).
	time.Sleep(time.Second + time.Duration(n+1)*40*time.Millisecond)
	if err := probeBusy(o, l, n, into, "exo-ash", "exo-upcall"); err != nil {
		return fmt.Errorf("%w; console:\n%s", err, tail(m.Console(), 30))
	}
	c := m.Console()
	if !m.Running() {
		return fmt.Errorf("compare: the Exo machine stopped during the busy run (%d); console:\n%s", n, tail(c, 30))
	}
	// A busy environment that died would make the ring path look fast.
	if strings.Contains(c, "(testenv) exited") || strings.Contains(c, "(testenv) killed") {
		return fmt.Errorf("compare: a busy environment ended during the measurement (%d); console:\n%s", n, tail(c, 30))
	}
	return nil
}

// linuxBusy boots the Linux guest with n busy processes (no trap-path
// measurements) and measures its kernel ICMP and user-space UDP echo.
func linuxBusy(o Options, n int, into map[string]ping.Summary) error {
	l, err := newLink(o.Net)
	if err != nil {
		return err
	}
	defer l.close()
	opts := []string{"compare.measure=no", "compare.busy=" + strconv.Itoa(n)}
	g, err := StartGuest(l.wrap, LinuxArgsWith(o.Image, "", opts, l.extra), 10*time.Minute)
	if err != nil {
		return err
	}
	defer g.Stop()
	for _, want := range []string{fmt.Sprintf("busy: %d spinning", n), "ready: udp echo on"} {
		got, err := g.WaitFor(3*time.Minute, want, "measure: error", "Kernel panic")
		if err == nil && got != want {
			time.Sleep(200 * time.Millisecond)
			err = fmt.Errorf("compare: the Linux guest failed (%q)", got)
		}
		if err != nil {
			return fmt.Errorf("%w (busy %d); console:\n%s", err, n, tail(g.Console(), 30))
		}
	}
	time.Sleep(time.Second) // the spinners running
	if err := probeBusy(o, l, n, into, "linux-icmp", "linux-udp"); err != nil {
		return fmt.Errorf("%w (busy %d); console:\n%s", err, n, tail(g.Console(), 30))
	}
	return nil
}

// BusyStats are one busy count's figures over the runs, by path key.
type BusyStats struct {
	N          int
	P50, P99   map[string]Stat // µs
	Lost, Sent map[string]int
}

// ComputeBusy summarizes the runs' sweeps: per count and path, the median
// (min–max) over runs of the p50 and of the p99, in µs, and the losses.
func ComputeBusy(runs []Run) []BusyStats {
	var counts []int
	for _, r := range runs {
		for n := range r.Busy {
			if !slices.Contains(counts, n) {
				counts = append(counts, n)
			}
		}
	}
	slices.Sort(counts)
	var out []BusyStats
	for _, n := range counts {
		s := BusyStats{N: n, P50: map[string]Stat{}, P99: map[string]Stat{}, Lost: map[string]int{}, Sent: map[string]int{}}
		for _, k := range BusyPaths {
			var p50, p99 []float64
			for _, r := range runs {
				sum, ok := r.Busy[n][k]
				if !ok {
					continue
				}
				s.Sent[k] += sum.Sent
				s.Lost[k] += sum.Sent - sum.Received
				if sum.Received > 0 {
					p50 = append(p50, us(sum.P50))
					p99 = append(p99, us(sum.P99))
				}
			}
			s.P50[k], s.P99[k] = stat(p50), stat(p99)
		}
		out = append(out, s)
	}
	return out
}

// BusyMarkdown is the sweep's table: per count, each path's p50 and p99
// (µs) and losses, and the ratios of Exo's ASH and ring p50 to Linux's
// kernel ICMP and user UDP p50.
func BusyMarkdown(rows []BusyStats, runs int) string {
	if len(rows) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n### RTT against busy environments (Exo) and busy processes (Linux), %d runs each, interleaved\n\n", runs)
	b.WriteString("µs, wall clock, from the host namespace (internal/ping); median of the runs' p50 and p99 (min–max over runs). Exo: the network demo plus N environments that never yield (testenv spin, one slot each, 10 ms quanta); Linux: N processes that never block (/measure spin, CFS). Lost: probes without a good reply, over all runs.\n\n")
	b.WriteString("| busy | Exo ASH p50 | Exo ASH p99 | Exo ring p50 | Exo ring p99 | Linux kernel ICMP p50 | Linux kernel ICMP p99 | Linux user UDP p50 | Linux user UDP p99 | lost (ASH/ring/ICMP/UDP) | ASH / ICMP p50 | ring / user UDP p50 |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n")
	cell := func(s Stat) string {
		if s.N == 0 {
			return "no replies"
		}
		return spread(s, micro)
	}
	ratio := func(a, c Stat) string {
		if a.N == 0 || c.N == 0 || c.Median <= 0 {
			return "-"
		}
		return times(a.Median / c.Median)
	}
	for _, r := range rows {
		fmt.Fprintf(&b, "| %d |", r.N)
		for _, k := range BusyPaths {
			fmt.Fprintf(&b, " %s | %s |", cell(r.P50[k]), cell(r.P99[k]))
		}
		var lost []string
		for _, k := range BusyPaths {
			lost = append(lost, fmt.Sprintf("%d/%d", r.Lost[k], r.Sent[k]))
		}
		fmt.Fprintf(&b, " %s | %s | %s |\n", strings.Join(lost, " "), ratio(r.P50["exo-ash"], r.P50["linux-icmp"]), ratio(r.P50["exo-upcall"], r.P50["linux-udp"]))
	}
	return b.String()
}

// busyCSVRecords are the sweep's lines of the CSV: table
// "busy", figure "PATH pXX at N busy".
func busyCSVRecords(rows []BusyStats) [][]string {
	var rec [][]string
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	for _, r := range rows {
		for _, k := range BusyPaths {
			p := pathByKey(k)
			for _, q := range []struct {
				name string
				s    Stat
			}{{"p50", r.P50[k]}, {"p99", r.P99[k]}} {
				if q.s.N == 0 {
					continue
				}
				rec = append(rec, []string{"busy", fmt.Sprintf("%s %s at %d busy", p.Name, q.name, r.N), strings.ToLower(p.System), "us",
					f(q.s.Median), f(q.s.Min), f(q.s.Max), strconv.Itoa(q.s.N), "", "", fmt.Sprintf("lost %d/%d", r.Lost[k], r.Sent[k])})
			}
		}
	}
	return rec
}

func pathByKey(k string) Path {
	for _, p := range Paths {
		if p.Key == k {
			return p
		}
	}
	return Path{Key: k, System: k, Name: k}
}

// WriteBusyPNG draws the sweep: RTT (µs, log scale) against the busy
// count, Exo's ASH and ring paths and Linux's kernel ICMP and user UDP,
// the p50 solid and the p99 dashed, medians over runs.
func WriteBusyPNG(w io.Writer, rows []BusyStats) error {
	p := plot.New()
	p.Title.Text = "Echo RTT against busy environments (Exo) and busy processes (Linux)"
	p.X.Label.Text = "busy environments / processes"
	p.Y.Label.Text = "round trip (µs, log scale); p50 solid, p99 dashed"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 100, 1000
	p.Add(plotter.NewGrid())
	styles := map[string]struct {
		label string
		c     color.Color
		glyph draw.GlyphDrawer
	}{
		"exo-ash":    {"Exo ASH (ICMP in the kernel)", colorExo, draw.CircleGlyph{}},
		"exo-upcall": {"Exo ring (UDP upcall)", color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, draw.TriangleGlyph{}},
		"linux-icmp": {"Linux kernel ICMP", colorLinux, draw.SquareGlyph{}},
		"linux-udp":  {"Linux user UDP (C process)", color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, draw.CrossGlyph{}},
	}
	var ticks []plot.Tick
	for _, r := range rows {
		ticks = append(ticks, plot.Tick{Value: float64(r.N), Label: strconv.Itoa(r.N)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	for _, k := range BusyPaths {
		st := styles[k]
		for _, q := range []string{"p50", "p99"} {
			var xy plotter.XYs
			for _, r := range rows {
				s := r.P50[k]
				if q == "p99" {
					s = r.P99[k]
				}
				if s.N > 0 {
					xy = append(xy, plotter.XY{X: float64(r.N), Y: max(s.Median, 1)})
				}
			}
			if len(xy) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(xy)
			if err != nil {
				return fmt.Errorf("compare: plotting the busy sweep: %w", err)
			}
			line.Color, points.Color, points.Shape = st.c, st.c, st.glyph
			line.Width = vg.Points(1.5)
			if q == "p99" {
				line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			p.Add(line, points)
			if q == "p50" {
				p.Legend.Add(st.label, line, points)
			}
		}
	}
	p.Legend.Top, p.Legend.Left = true, true
	img := vgimg.NewWith(vgimg.UseWH(8*vg.Inch, 5.5*vg.Inch), vgimg.UseDPI(96))
	p.Draw(draw.New(img))
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("compare: writing the busy PNG: %w", err)
	}
	return nil
}
