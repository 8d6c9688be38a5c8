package main

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/exo-os/exo/internal/ping"
)

func TestStat(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want Stat
	}{
		{nil, Stat{}},
		{[]float64{3}, Stat{Median: 3, Min: 3, Max: 3, N: 1}},
		{[]float64{5, 1, 3}, Stat{Median: 3, Min: 1, Max: 5, N: 3}},
		{[]float64{4, 1, 2, 10}, Stat{Median: 3, Min: 1, Max: 10, N: 4}},
	} {
		if got := stat(tc.in); got != tc.want {
			t.Errorf("stat(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// result is a ping result with the given good RTTs (µs) and lost probes.
func result(lost int, rtts ...int) *ping.Result {
	r := &ping.Result{}
	for i, us := range rtts {
		r.Probes = append(r.Probes, ping.Probe{Seq: i, RTT: time.Duration(us) * time.Microsecond})
	}
	for range lost {
		r.Probes = append(r.Probes, ping.Probe{Seq: len(r.Probes), Lost: true})
	}
	r.Summary = ping.Summarize(r.Probes)
	return r
}

// testRuns are two runs with round figures: Exo's call 20 and 40 ns, its
// null call 400 and 1000; Linux's call 10 and 10, getpid 600 and 700.
func testRuns() []Run {
	return []Run{
		{
			Exo:   Figures{"call": 20, "null": 400, "yield": 900, "pingpong": 12000, "reset": 1e8, "exc-call": 25, "exc-ill": 6000},
			Linux: Figures{"call": 10, "getpid": 600, "yield": 1500, "shm": 30000, "sigsegv": 140000, "sigill": 150000, "boot-to-init": 2.4e8},
			Ping: map[string]*ping.Result{
				"exo-ash":    result(0, 250, 260, 270),
				"linux-icmp": result(1, 390, 400, 410),
			},
		},
		{
			Exo:   Figures{"call": 40, "null": 1000, "yield": 1800, "pingpong": 29000, "reset": 4e8},
			Linux: Figures{"call": 10, "getpid": 700, "yield": 1600, "shm": 28000, "sigsegv": 150000, "boot-to-init": 2.0e8},
			Ping: map[string]*ping.Result{
				"exo-ash":    result(0, 230, 240, 250),
				"linux-icmp": result(0, 380, 390, 400),
			},
		},
	}
}

func TestCompute(t *testing.T) {
	rows := Compute(testRuns())
	byName := map[string]RowStats{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	if len(rows) != len(Rows) {
		t.Fatalf("%d rows, want %d", len(rows), len(Rows))
	}
	null := byName["null system call"]
	for _, c := range []struct {
		what      string
		got, want Stat
	}{
		{"Exo null", null.Exo, Stat{Median: 700, Min: 400, Max: 1000, N: 2}},
		{"Linux getpid", null.Linux, Stat{Median: 650, Min: 600, Max: 700, N: 2}},
		{"Exo null × call", null.ExoCall, Stat{Median: 22.5, Min: 20, Max: 25, N: 2}},
		{"Linux getpid × call", null.LinuxCall, Stat{Median: 65, Min: 60, Max: 70, N: 2}},
		// Run by run: 400/600 and 1000/700.
		{"ratio", null.Ratio, stat([]float64{400.0 / 600, 1000.0 / 700})},
	} {
		if c.got != c.want {
			t.Errorf("%s = %+v, want %+v", c.what, c.got, c.want)
		}
	}
	seg := byName["exception to a handler and back (SIGSEGV)"]
	if seg.Exo.N != 0 || seg.Ratio.N != 0 || seg.Linux.N != 2 {
		t.Errorf("SIGSEGV row: Exo %d runs, ratio %d, Linux %d; want 0, 0, 2", seg.Exo.N, seg.Ratio.N, seg.Linux.N)
	}
	// The exception rows divide by the call of the exc boot, and a row
	// Exo ran in one run only has that run's figure.
	ill := byName["exception to a handler and back (illegal instruction, SIGILL)"]
	if ill.ExoCall != (Stat{Median: 240, Min: 240, Max: 240, N: 1}) || ill.Ratio.N != 1 {
		t.Errorf("SIGILL row: per call %+v, ratio %+v", ill.ExoCall, ill.Ratio)
	}
	amo := byName["exception to a handler and back (misaligned AMO, SIGBUS)"]
	if amo.Exo.N != 0 || amo.Linux.N != 0 {
		t.Errorf("SIGBUS row (no figures): %+v", amo)
	}
	boot := byName["boot to the first program"]
	if boot.ExoCall.N != 0 || boot.LinuxCall.N != 0 || boot.Ratio.N != 2 {
		t.Errorf("boot row: per-call %d/%d (want none), ratio %d (want 2)", boot.ExoCall.N, boot.LinuxCall.N, boot.Ratio.N)
	}
	// A row whose figure only one run has counts that run only.
	runs := testRuns()
	delete(runs[1].Linux, "getpid")
	if n := Compute(runs)[1].Ratio.N; n != 1 {
		t.Errorf("null call ratio over %d runs, want 1", n)
	}
}

func TestComputePaths(t *testing.T) {
	paths := ComputePaths(testRuns())
	by := map[string]PathStats{}
	for _, p := range paths {
		by[p.Key] = p
	}
	ash, icmp, up := by["exo-ash"], by["linux-icmp"], by["exo-upcall"]
	if ash.P50 != (Stat{Median: 250, Min: 240, Max: 260, N: 2}) {
		t.Errorf("ASH p50 %+v", ash.P50)
	}
	if icmp.Sent != 7 || icmp.Lost != 1 {
		t.Errorf("Linux ICMP sent %d lost %d, want 7 and 1", icmp.Sent, icmp.Lost)
	}
	if up.P50.N != 0 || up.Sent != 0 {
		t.Errorf("upcall (not measured) %+v", up)
	}
}

func TestMarkdown(t *testing.T) {
	runs := testRuns()
	md := Markdown(Compute(runs), ComputePaths(runs), len(runs))
	for _, want := range []string{
		"| 1 | procedure call | 30.0 ns (20.0 ns–40.0 ns) | 1.00× | 10.0 ns | 1.00× | 3.00× (2.00×–4.00×) |",
		"| 2 | null system call | 700.0 ns (400.0 ns–1000.0 ns) | 22.50× (20.00×–25.00×) | 650.0 ns (600.0 ns–700.0 ns) | 65.00× (60.00×–70.00×) |",
		"| 5 | exception to a handler and back (SIGSEGV) † | not yet (issue 13) | - | 145.0 µs (140.0 µs–150.0 µs) |",
		"| 4 | round trip between two address spaces † |",
		"| 15 | boot to the first program † | 250.0 ms (100.0 ms–400.0 ms) | - | 220.0 ms (200.0 ms–240.0 ms) | - |",
		"| Exo | ICMP echo by the handler in the kernel (ASH) | 250 (240–260) |",
		"| Linux | ICMP echo by the kernel | 395 (390–400) |",
		"| 1/7 | 1.00× |",
		"| Exo | UDP echo from the echo environment's ring (upcall), port 9 | no replies |",
		"| 7 | exception to a handler and back (misaligned AMO, SIGBUS) | not yet (issue 13) | - | no figure |",
		"| 6 | exception to a handler and back (illegal instruction, SIGILL) | 6000.0 ns | 240.00× |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the report has no %q:\n%s", want, md)
		}
	}
	for _, r := range Rows {
		if r.ExoKey == "" && !strings.Contains(md, " | "+r.Name+" | not yet ("+r.NotYet+")") {
			t.Errorf("row %q is not marked not yet", r.Name)
		}
	}
}

func TestWriteCSV(t *testing.T) {
	runs := testRuns()
	var b bytes.Buffer
	if err := WriteCSV(&b, Compute(runs), ComputePaths(runs)); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	exoRows := 0
	for _, r := range Compute(runs) {
		if r.ExoKey != "" && r.Exo.N > 0 {
			exoRows++
		}
	}
	if want := 1 + len(Rows) + exoRows + 3*len(Paths); len(recs) != want {
		t.Fatalf("%d records, want %d", len(recs), want)
	}
	found := false
	for _, r := range recs {
		if r[1] == "null system call" && r[2] == "exo" {
			found = true
			if r[4] != "700.000" || r[8] != "22.500" {
				t.Errorf("null call record %v", r)
			}
		}
	}
	if !found {
		t.Error("no Exo null call record")
	}
}

func TestWritePNG(t *testing.T) {
	runs := testRuns()
	var b bytes.Buffer
	if err := WritePNG(&b, Compute(runs), runs); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte("\x89PNG\r\n\x1a\n")) || b.Len() < 10000 {
		t.Fatalf("not a PNG of a figure: %d bytes", b.Len())
	}
	// No run at all still draws (empty) axes rather than failing.
	b.Reset()
	if err := WritePNG(&b, Compute(nil), nil); err != nil {
		t.Fatalf("no runs: %v", err)
	}
}

func TestWriteProbes(t *testing.T) {
	var b bytes.Buffer
	if err := WriteProbes(&b, testRuns()); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Run 1: 3 ASH + 4 Linux ICMP (one lost); run 2: 3 + 3.
	if len(recs) != 1+7+6 {
		t.Fatalf("%d records, want 14", len(recs))
	}
	if r := recs[7]; r[0] != "1" || r[1] != "linux-icmp" || r[4] != "" || r[5] != "true" {
		t.Errorf("the lost probe: %v", r)
	}
	if r := recs[1]; r[1] != "exo-ash" || r[4] != "250.0" {
		t.Errorf("the first probe: %v", r)
	}
}
