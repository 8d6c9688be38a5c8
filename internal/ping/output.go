package ping

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// csvHeader names WriteCSV's columns: the probe number, when it was sent
// (RFC 3339, UTC, nanoseconds), the RTT in nanoseconds (0 if lost), the
// lost and corrupt flags, the counts of duplicate and late replies, and
// the reason for corrupt or unsent probes.
var csvHeader = []string{"seq", "sent", "rtt_ns", "lost", "corrupt", "dups", "late", "reason"}

// WriteCSV writes one line per probe, after a header line naming the
// columns: seq, sent, rtt_ns, lost, corrupt, dups, late, reason.
func WriteCSV(w io.Writer, probes []Probe) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeader)
	for i := range probes {
		p := &probes[i]
		cw.Write([]string{
			strconv.Itoa(p.Seq),
			p.Sent.UTC().Format(time.RFC3339Nano),
			strconv.FormatInt(int64(p.RTT), 10),
			strconv.FormatBool(p.Lost),
			strconv.FormatBool(p.Corrupt),
			strconv.Itoa(p.Dups),
			strconv.Itoa(p.Late),
			p.Reason,
		})
	}
	cw.Flush()
	return cw.Error()
}

// ReadCSV reads probe records that WriteCSV wrote.
func ReadCSV(r io.Reader) ([]Probe, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(csvHeader)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("ping: reading CSV header: %w", err)
	}
	if strings.Join(head, ",") != strings.Join(csvHeader, ",") {
		return nil, fmt.Errorf("ping: CSV header %q, want %q", strings.Join(head, ","), strings.Join(csvHeader, ","))
	}
	var probes []Probe
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return probes, nil
		}
		if err != nil {
			return nil, fmt.Errorf("ping: reading CSV: %w", err)
		}
		var p Probe
		var errs []error
		atoi := func(col int) int {
			n, err := strconv.Atoi(rec[col])
			errs = append(errs, err)
			return n
		}
		parseBool := func(col int) bool {
			b, err := strconv.ParseBool(rec[col])
			errs = append(errs, err)
			return b
		}
		p.Seq = atoi(0)
		p.Sent, err = time.Parse(time.RFC3339Nano, rec[1])
		errs = append(errs, err)
		rtt, err := strconv.ParseInt(rec[2], 10, 64)
		errs = append(errs, err)
		p.RTT = time.Duration(rtt)
		p.Lost = parseBool(3)
		p.Corrupt = parseBool(4)
		p.Dups = atoi(5)
		p.Late = atoi(6)
		p.Reason = rec[7]
		if err := errors.Join(errs...); err != nil {
			return nil, fmt.Errorf("ping: CSV line %d: %w", line, err)
		}
		probes = append(probes, p)
	}
}

// WriteJSON writes the result as one indented JSON object; durations are
// integers in nanoseconds (the fields ending in _ns), times RFC 3339.
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// ReadJSON reads a result that WriteJSON wrote.
func ReadJSON(r io.Reader) (*Result, error) {
	var res Result
	if err := json.NewDecoder(r).Decode(&res); err != nil {
		return nil, fmt.Errorf("ping: reading JSON result: %w", err)
	}
	return &res, nil
}

// ms formats d in milliseconds with three decimals, as ping does.
func ms(d time.Duration) string { return strconv.FormatFloat(d.Seconds()*1000, 'f', 3, 64) }

// WriteSummary writes the statistics as ping-like lines: counts, then
// "rtt min/avg/max/mdev" (avg the mean, mdev the standard deviation) and
// the percentiles, in milliseconds.
func WriteSummary(w io.Writer, res *Result) error {
	s := &res.Summary
	what := res.Proto
	if res.Proto == "udp" {
		what = fmt.Sprintf("udp port %d", res.Port)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- %v %s statistics ---\n", res.Target, what)
	fmt.Fprintf(&b, "%d transmitted, %d received, %d lost, %d corrupt, %d duplicates, %d late, %g%% loss\n",
		s.Sent, s.Received, s.Lost, s.Corrupt, s.Duplicates, s.Late, math.Round(s.LossPercent*1000)/1000)
	if s.Received > 0 {
		fmt.Fprintf(&b, "rtt min/avg/max/mdev = %s/%s/%s/%s ms\n", ms(s.Min), ms(s.Mean), ms(s.Max), ms(s.StdDev))
		fmt.Fprintf(&b, "rtt p50/p90/p99/p99.9 = %s/%s/%s/%s ms\n", ms(s.P50), ms(s.P90), ms(s.P99), ms(s.P999))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// histBar is the width of the longest histogram bar.
const histBar = 50

// WriteHistogram writes a histogram of the good RTTs to a terminal: one
// line per bucket with its range, a bar of '#' scaled to the fullest
// bucket, and its count. The buckets are log-spaced when the largest RTT
// is at least four times the smallest, else of equal width; buckets ≤ 0
// means 20.
func WriteHistogram(w io.Writer, probes []Probe, buckets int) error {
	if buckets <= 0 {
		buckets = 20
	}
	var rtts []time.Duration
	for i := range probes {
		if probes[i].Good() {
			rtts = append(rtts, probes[i].RTT)
		}
	}
	if len(rtts) == 0 {
		_, err := io.WriteString(w, "no good replies: no RTT histogram\n")
		return err
	}
	lo, hi := rtts[0], rtts[0]
	for _, d := range rtts {
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo == hi {
		buckets = 1
	}
	logScale := lo > 0 && hi >= 4*lo
	edge := func(k int) time.Duration {
		f := float64(k) / float64(buckets)
		if logScale {
			return time.Duration(math.Round(float64(lo) * math.Pow(float64(hi)/float64(lo), f)))
		}
		return lo + time.Duration(math.Round(f*float64(hi-lo)))
	}
	counts := make([]int, buckets)
	for _, d := range rtts {
		var f float64
		if hi > lo {
			if logScale {
				f = math.Log(float64(d)/float64(lo)) / math.Log(float64(hi)/float64(lo))
			} else {
				f = float64(d-lo) / float64(hi-lo)
			}
		}
		k := min(max(int(f*float64(buckets)), 0), buckets-1)
		// Keep bucket k's printed range honest despite rounding.
		for k > 0 && d < edge(k) {
			k--
		}
		for k < buckets-1 && d >= edge(k+1) {
			k++
		}
		counts[k]++
	}
	most := slices.Max(counts)
	scale := "equal-width"
	if logScale {
		scale = "log-spaced"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "RTT histogram: %d good replies, %d %s buckets\n", len(rtts), buckets, scale)
	labels := make([][2]string, buckets)
	width := 0
	for k := range buckets {
		labels[k] = [2]string{roundRTT(edge(k)).String(), roundRTT(edge(k + 1)).String()}
		width = max(width, utf8.RuneCountInString(labels[k][0]), utf8.RuneCountInString(labels[k][1]))
	}
	for k, n := range counts {
		bar := (n*histBar + most - 1) / most
		fmt.Fprintf(&b, "%*s - %-*s |%-*s| %d\n", width, labels[k][0], width, labels[k][1], histBar, strings.Repeat("#", bar), n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
