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
)

// Sample is one measurement of one target in one round: what a client
// run prints as JSON. Values holds the figures by key (see metrics); Note
// says why a figure is missing although the measurement worked (the
// memory row without "runtime heapinuse" in /stats); Err is set if the
// measurement failed.
type Sample struct {
	Round   int                `json:"round"`
	Target  string             `json:"target"`
	Measure string             `json:"measure"`
	Values  map[string]float64 `json:"values,omitempty"`
	Note    string             `json:"note,omitempty"`
	Err     string             `json:"error,omitempty"`
}

// Metric is one row of the table: the figure Key of measurement Measure.
// SIZE in the label stands for the run's transfer size.
type Metric struct {
	Label   string
	Measure string
	Key     string
	Unit    string
	Higher  bool // higher is better (else lower is)
	Integer bool // shown without decimals
}

// metrics are the rows of the main table, in order. The UDP rows take
// the UDP targets named like the servers.
var metrics = []Metric{
	{Label: "TCP env→host: GET /download SIZE", Measure: "download", Key: "mbps", Unit: "MB/s", Higher: true},
	{Label: "TCP host→env: POST /upload SIZE", Measure: "upload", Key: "mbps", Unit: "MB/s", Higher: true},
	{Label: "HTTP GET /, 1 connection: rate", Measure: "http1", Key: "rps", Unit: "req/s", Higher: true},
	{Label: "HTTP GET /, 1 connection: p50", Measure: "http1", Key: "p50_us", Unit: "µs"},
	{Label: "HTTP GET /, 1 connection: p90", Measure: "http1", Key: "p90_us", Unit: "µs"},
	{Label: "HTTP GET /, 1 connection: p99", Measure: "http1", Key: "p99_us", Unit: "µs"},
	{Label: "HTTP GET /, 100 connections: rate", Measure: "http100", Key: "rps", Unit: "req/s", Higher: true},
	{Label: "HTTP GET /, 100 connections: p50", Measure: "http100", Key: "p50_us", Unit: "µs"},
	{Label: "HTTP GET /, 100 connections: p90", Measure: "http100", Key: "p90_us", Unit: "µs"},
	{Label: "HTTP GET /, 100 connections: p99", Measure: "http100", Key: "p99_us", Unit: "µs"},
	{Label: "UDP echo 64 B (ring + stack): p50", Measure: "udp", Key: "p50_us", Unit: "µs"},
	{Label: "UDP echo 64 B (ring + stack): p99", Measure: "udp", Key: "p99_us", Unit: "µs"},
	{Label: "UDP echo 64 B (ring + stack): mean", Measure: "udp", Key: "mean_us", Unit: "µs"},
	{Label: "UDP echo 64 B (ring + stack): loss", Measure: "udp", Key: "loss_pct", Unit: "%"},
	{Label: "memory per idle keep-alive connection (heap in use)", Measure: "mem", Key: "per_conn", Unit: "bytes", Integer: true},
}

// udpMetrics are the columns of the UDP targets table.
var udpMetrics = []Metric{
	{Label: "p50", Measure: "udp", Key: "p50_us", Unit: "µs"},
	{Label: "p99", Measure: "udp", Key: "p99_us", Unit: "µs"},
	{Label: "mean", Measure: "udp", Key: "mean_us", Unit: "µs"},
	{Label: "loss", Measure: "udp", Key: "loss_pct", Unit: "%"},
}

// Spread is a figure over the rounds: its median, smallest and largest,
// and the values in round order.
type Spread struct {
	Values           []float64
	Median, Min, Max float64
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted: the smallest value with at least p% of the values at or below
// it; 0 if sorted is empty.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// latencies summarizes request or round-trip times as p50_us, p90_us,
// p99_us, mean_us, min_us and max_us.
func latencies(d []time.Duration) map[string]float64 {
	v := make([]float64, len(d))
	var sum float64
	for i, x := range d {
		v[i] = float64(x.Nanoseconds()) / 1000
		sum += v[i]
	}
	slices.Sort(v)
	m := map[string]float64{
		"p50_us": percentile(v, 50), "p90_us": percentile(v, 90), "p99_us": percentile(v, 99),
	}
	if len(v) > 0 {
		m["mean_us"], m["min_us"], m["max_us"] = sum/float64(len(v)), v[0], v[len(v)-1]
	}
	return m
}

// median returns the median of v (the mean of the middle two if their
// number is even); 0 if v is empty.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread collects figure key of measure for target over the rounds, from
// the samples that have it. ok is false if none has.
func spread(samples []Sample, target, measure, key string) (s Spread, ok bool) {
	for _, x := range samples {
		if x.Target != target || x.Measure != measure || x.Err != "" {
			continue
		}
		if v, has := x.Values[key]; has {
			s.Values = append(s.Values, v)
		}
	}
	if len(s.Values) == 0 {
		return s, false
	}
	s.Median = median(s.Values)
	s.Min, s.Max = slices.Min(s.Values), slices.Max(s.Values)
	return s, true
}

// failed reports whether any round of measure for target failed.
func failed(samples []Sample, target, measure string) bool {
	for _, x := range samples {
		if x.Target == target && x.Measure == measure && x.Err != "" {
			return true
		}
	}
	return false
}

// measured reports whether any round of measure for target ran.
func measured(samples []Sample, target, measure string) bool {
	for _, x := range samples {
		if x.Target == target && x.Measure == measure {
			return true
		}
	}
	return false
}

// number formats v with the precision its size warrants.
func number(v float64, integer bool) string {
	a := math.Abs(v)
	switch {
	case integer || a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// cell is a table cell: the median, and min..max if there were several
// rounds; "FAILED" if a round failed and none has the figure, "not run"
// if no round measured it (the run was cut short), "n/a" if the figure
// is missing otherwise.
func cell(samples []Sample, target string, m Metric) string {
	s, ok := spread(samples, target, m.Measure, m.Key)
	if !ok {
		switch {
		case failed(samples, target, m.Measure):
			return "FAILED"
		case !measured(samples, target, m.Measure):
			return "not run"
		}
		return "n/a"
	}
	c := number(s.Median, m.Integer)
	if len(s.Values) > 1 {
		c += " (" + number(s.Min, m.Integer) + ".." + number(s.Max, m.Integer) + ")"
	}
	if failed(samples, target, m.Measure) {
		c += " (a round FAILED)"
	}
	return c
}

// ratio returns the median of a over the median of b for m; ok is false
// if either is missing or negative (a heap that shrank) or b's is 0
// (equal is true if both are 0).
func ratio(samples []Sample, a, b string, m Metric) (r float64, ok, equal bool) {
	sa, okA := spread(samples, a, m.Measure, m.Key)
	sb, okB := spread(samples, b, m.Measure, m.Key)
	if !okA || !okB || sa.Median < 0 || sb.Median < 0 {
		return 0, false, false
	}
	if sb.Median == 0 {
		return 0, false, sa.Median == 0
	}
	return sa.Median / sb.Median, true, false
}

// ratioCell formats ratio's result for the table.
func ratioCell(samples []Sample, a, b string, m Metric) string {
	r, ok, equal := ratio(samples, a, b, m)
	switch {
	case ok:
		return strconv.FormatFloat(r, 'f', 2, 64)
	case equal:
		return "equal"
	default:
		return "n/a"
	}
}

// label is m's label for a run with transfers of size bytes.
func label(m Metric, size int64) string {
	sz := strconv.FormatInt(size, 10) + " bytes"
	if size >= 1<<20 && size%(1<<20) == 0 {
		sz = strconv.FormatInt(size>>20, 10) + " MiB"
	}
	return strings.ReplaceAll(m.Label, "SIZE", sz)
}

// ahead names the stack whose figure is better on m ("" if they are
// equal or a figure is missing).
func ahead(samples []Sample, a, b string, m Metric) string {
	sa, okA := spread(samples, a, m.Measure, m.Key)
	sb, okB := spread(samples, b, m.Measure, m.Key)
	switch {
	case !okA || !okB || sa.Median == sb.Median:
		return ""
	case (sa.Median > sb.Median) == m.Higher:
		return a
	default:
		return b
	}
}

func better(m Metric) string {
	if m.Higher {
		return "higher"
	}
	return "lower"
}

// Report is a run: its parameters and its samples.
type Report struct {
	Command  string    // the command line, as run
	Firmware string    // the firmware and when it was built
	Date     time.Time // the start of the run
	Rounds   int
	Params   string      // the counts, in words
	Size     int64       // the transfers' bytes
	Servers  []string    // the two stacks compared: [0]/[1] is the ratio
	UDP      []UDPTarget // the UDP echo targets, in order
	Samples  []Sample
	Failures []string // every failed measurement, with what and where
}

// markdown is the report as Markdown: the main table (measurements
// against the two stacks and their ratio), the UDP targets, and the
// failures.
func markdown(r Report) string {
	a, b := r.Servers[0], r.Servers[1]
	var w strings.Builder
	fmt.Fprintf(&w, "# bench-stack: the libOS network stacks side by side (%s and %s)\n\n", a, b)
	fmt.Fprintf(&w, "Command: `%s`  \n", r.Command)
	fmt.Fprintf(&w, "Firmware: %s  \n", r.Firmware)
	fmt.Fprintf(&w, "Run: %s, %d round(s) interleaved (%s, %s, %s, %s, ...); median (min..max) over rounds.  \n", r.Date.Format(time.RFC3339), r.Rounds, a, b, a, b)
	fmt.Fprintf(&w, "Counts: %s\n\n", r.Params)
	fmt.Fprintf(&w, "| measurement | unit | %s | %s | %s/%s | better | ahead |\n", a, b, a, b)
	w.WriteString("|---|---|---:|---:|---:|---|---|\n")
	for _, m := range metrics {
		fmt.Fprintf(&w, "| %s | %s | %s | %s | %s | %s | %s |\n", label(m, r.Size), m.Unit,
			cell(r.Samples, a, m), cell(r.Samples, b, m), ratioCell(r.Samples, a, b, m), better(m), ahead(r.Samples, a, b, m))
	}
	fmt.Fprintf(&w, "\nThe ratio is of the medians; \"better\" says which direction of the figure is better "+
		"(for %s: a ratio above 1 where higher, below 1 where lower), \"ahead\" which stack is better on the row. "+
		"MB is 10⁶ bytes; a transfer's time runs from the request to its last byte on a warm keep-alive connection; "+
		"an HTTP latency from the request to the response's last byte; a UDP round trip from the send to the echo's arrival. "+
		"Memory: /stats's runtime heapinuse (MemStats.HeapInuse, after the collection /stats runs first) read %d times idle, "+
		"then after each of %d equal steps opening the connections (one GET / each, then idle): "+
		"the median step's growth less the median idle growth, per connection opened.\n", a, memSteps+1, memSteps)
	w.WriteString("\n| UDP echo target | port |")
	for _, m := range udpMetrics {
		fmt.Fprintf(&w, " %s %s |", m.Label, m.Unit)
	}
	w.WriteString("\n|---|---:|")
	for range udpMetrics {
		w.WriteString("---:|")
	}
	w.WriteString("\n")
	for _, t := range r.UDP {
		fmt.Fprintf(&w, "| %s | %d |", t.Name, t.Port)
		for _, m := range udpMetrics {
			fmt.Fprintf(&w, " %s |", cell(r.Samples, t.Name, m))
		}
		w.WriteString("\n")
	}
	var notes []string
	for _, s := range r.Samples {
		if s.Note != "" && !slices.Contains(notes, s.Target+": "+s.Note) {
			notes = append(notes, s.Target+": "+s.Note)
		}
	}
	if len(notes) > 0 {
		w.WriteString("\nNotes:\n")
		for _, n := range notes {
			fmt.Fprintf(&w, "- %s\n", n)
		}
	}
	if len(r.Failures) > 0 {
		w.WriteString("\nFAILED:\n")
		for _, f := range r.Failures {
			fmt.Fprintf(&w, "- %s\n", strings.ReplaceAll(f, "\n", " "))
		}
	}
	return w.String()
}

// writeCSV writes the report in long form: one line per target and
// figure (median, min, max and the rounds' values), then the ratios
// (target "a/b", the ratio in median).
func writeCSV(w io.Writer, r Report) error {
	c := csv.NewWriter(w)
	c.Write([]string{"target", "measure", "key", "label", "unit", "better", "rounds", "median", "min", "max", "values", "status"})
	row := func(target string, m Metric) {
		s, ok := spread(r.Samples, target, m.Measure, m.Key)
		status := "ok"
		switch {
		case failed(r.Samples, target, m.Measure):
			status = "failed"
		case !ok:
			status = "n/a"
		}
		if !ok {
			c.Write([]string{target, m.Measure, m.Key, label(m, r.Size), m.Unit, better(m), "0", "", "", "", "", status})
			return
		}
		vals := make([]string, len(s.Values))
		for i, v := range s.Values {
			vals[i] = strconv.FormatFloat(v, 'g', -1, 64)
		}
		g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
		c.Write([]string{target, m.Measure, m.Key, label(m, r.Size), m.Unit, better(m), strconv.Itoa(len(s.Values)), g(s.Median), g(s.Min), g(s.Max), strings.Join(vals, ";"), status})
	}
	for _, target := range r.Servers {
		for _, m := range metrics {
			row(target, m)
		}
	}
	for _, t := range r.UDP {
		if slices.Contains(r.Servers, t.Name) {
			continue // in the servers' rows already
		}
		for _, m := range udpMetrics {
			row(t.Name, m)
		}
	}
	a, b := r.Servers[0], r.Servers[1]
	for _, m := range metrics {
		v, status := "", "n/a"
		if x, ok, equal := ratio(r.Samples, a, b, m); ok {
			v, status = strconv.FormatFloat(x, 'g', -1, 64), "ok"
		} else if equal {
			status = "equal"
		}
		c.Write([]string{a + "/" + b, m.Measure, m.Key, label(m, r.Size), "ratio", better(m), "", v, "", "", "", status})
	}
	c.Flush()
	return c.Error()
}

// parseStats reads /stats ("layer name value" lines) into a map keyed
// "layer name"; lines of another shape (link lasterror "...") are
// skipped.
func parseStats(text string) map[string]float64 {
	m := make(map[string]float64)
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) != 3 {
			continue
		}
		v, err := strconv.ParseFloat(f[2], 64)
		if err != nil {
			continue
		}
		m[f[0]+" "+f[1]] = v
	}
	return m
}

// shellQuote quotes each argument that needs it for a POSIX shell.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
		}) < 0 {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
