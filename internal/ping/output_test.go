package ping

import (
	"bytes"
	"image/png"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleResult() *Result {
	start := time.Date(2026, 12, 3, 10, 0, 0, 123456789, time.UTC)
	res := &Result{Proto: "udp", Target: guestIP, Port: 7, Size: 64, Interval: time.Millisecond,
		Timeout: time.Second, Start: start, Unmatched: 2}
	for i := range 40 {
		p := Probe{Seq: i, Sent: start.Add(time.Duration(i) * time.Millisecond), RTT: time.Duration(50+i*i) * time.Microsecond}
		switch i {
		case 5, 17:
			p.Lost, p.RTT = true, 0
		case 9:
			p.Corrupt, p.Reason = true, `reply payload byte 12 is 0x5a, sent 0x5b, "quoted"`
		case 11:
			p.Dups = 2
		case 17 + 1:
			p.Late = 1
		}
		res.Probes = append(res.Probes, p)
	}
	res.Probes[17].Reason = "ping: dgram: sending a frame to QEMU at 127.0.0.1:1: refused, really"
	res.Summary = Summarize(res.Probes)
	return res
}

func TestCSVRoundTrip(t *testing.T) {
	res := sampleResult()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, res.Probes); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(buf.String(), "\n"); first != "seq,sent,rtt_ns,lost,corrupt,dups,late,reason" {
		t.Errorf("header %q", first)
	}
	got, err := ReadCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(res.Probes) {
		t.Fatalf("read %d probes, wrote %d", len(got), len(res.Probes))
	}
	for i := range got {
		g, w := got[i], res.Probes[i]
		if !g.Sent.Equal(w.Sent) {
			t.Errorf("probe %d sent %v, want %v", i, g.Sent, w.Sent)
		}
		g.Sent, w.Sent = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("probe %d: %+v, want %+v", i, g, w)
		}
	}
	for name, text := range map[string]string{
		"header":  "seq,when,rtt_ns,lost,corrupt,dups,late,reason\n",
		"columns": "seq,sent,rtt_ns,lost,corrupt,dups,late,reason\n1,2\n",
		"number":  "seq,sent,rtt_ns,lost,corrupt,dups,late,reason\nx,2026-12-03T10:00:00Z,1,false,false,0,0,\n",
		"time":    "seq,sent,rtt_ns,lost,corrupt,dups,late,reason\n1,yesterday,1,false,false,0,0,\n",
	} {
		if _, err := ReadCSV(strings.NewReader(text)); err == nil {
			t.Errorf("ReadCSV with a bad %s succeeded", name)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	res := sampleResult()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"p99_9_ns"`, `"stddev_ns"`, `"loss_percent"`, `"target": "198.18.0.2"`, `"rtt_ns"`} {
		if !strings.Contains(buf.String(), field) {
			t.Errorf("JSON lacks %s", field)
		}
	}
	got, err := ReadJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Start.Equal(res.Start) {
		t.Errorf("start %v, want %v", got.Start, res.Start)
	}
	for i := range got.Probes {
		if !got.Probes[i].Sent.Equal(res.Probes[i].Sent) {
			t.Errorf("probe %d sent %v", i, got.Probes[i].Sent)
		}
		got.Probes[i].Sent = res.Probes[i].Sent
	}
	got.Start = res.Start
	if !reflect.DeepEqual(got, res) {
		t.Errorf("ReadJSON(WriteJSON(r)):\n got %+v\nwant %+v", got, res)
	}
	if _, err := ReadJSON(strings.NewReader("{")); err == nil {
		t.Error("ReadJSON of a truncated object succeeded")
	}
}

func TestWritePNG(t *testing.T) {
	empty := &Result{Proto: "icmp", Target: guestIP, Probes: []Probe{{Seq: 0, Lost: true}}}
	empty.Summary = Summarize(empty.Probes)
	same := &Result{Proto: "icmp", Target: guestIP}
	for i := range 5 {
		same.Probes = append(same.Probes, Probe{Seq: i, RTT: 80 * time.Microsecond})
	}
	same.Summary = Summarize(same.Probes)
	for name, res := range map[string]*Result{"sample": sampleResult(), "no good replies": empty, "one RTT value": same} {
		var buf bytes.Buffer
		if err := WritePNG(&buf, res); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		img, err := png.Decode(&buf)
		if err != nil {
			t.Fatalf("%s: decoding the PNG: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != 768 || b.Dy() != 864 {
			t.Errorf("%s: image is %v, want 768×864", name, b)
		}
	}
}

func TestWriteHistogram(t *testing.T) {
	probes := func(rtts ...time.Duration) []Probe {
		var p []Probe
		for i, d := range rtts {
			p = append(p, Probe{Seq: i, RTT: d})
		}
		return append(p, Probe{Lost: true}, Probe{RTT: time.Hour, Corrupt: true})
	}
	for _, tc := range []struct {
		name    string
		probes  []Probe
		buckets int
		title   string
		counts  []string // the last field of each bucket line
		first   string   // the first bucket's range
	}{
		{"log", probes(time.Millisecond, time.Millisecond, time.Millisecond, 2*time.Millisecond, 100*time.Millisecond),
			4, "5 good replies, 4 log-spaced buckets", []string{"4", "0", "0", "1"}, "1ms - 3.162ms"},
		{"linear", probes(10*time.Microsecond, 20*time.Microsecond, 30*time.Microsecond),
			2, "3 good replies, 2 equal-width buckets", []string{"1", "2"}, "10µs - 20µs"},
		{"one value", probes(5*time.Microsecond, 5*time.Microsecond),
			0, "2 good replies, 1 equal-width buckets", []string{"2"}, "5µs - 5µs"},
	} {
		var buf bytes.Buffer
		if err := WriteHistogram(&buf, tc.probes, tc.buckets); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if !strings.Contains(lines[0], tc.title) || len(lines) != 1+len(tc.counts) {
			t.Errorf("%s: histogram\n%s", tc.name, buf.String())
			continue
		}
		for i, want := range tc.counts {
			f := strings.Fields(lines[1+i])
			if f[len(f)-1] != want {
				t.Errorf("%s: bucket %d: %q, want count %s", tc.name, i, lines[1+i], want)
			}
		}
		if !strings.Contains(lines[1], tc.first) || !strings.Contains(lines[1], "|"+strings.Repeat("#", histBar)+"|") && tc.counts[0] != "1" {
			t.Errorf("%s: first bucket %q, want range %q and a full bar", tc.name, lines[1], tc.first)
		}
	}
	var buf bytes.Buffer
	WriteHistogram(&buf, []Probe{{Lost: true}}, 10)
	if !strings.Contains(buf.String(), "no good replies") {
		t.Errorf("histogram of nothing: %q", buf.String())
	}
}

func TestWriteSummary(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSummary(&buf, sampleResult()); err != nil {
		t.Fatal(err)
	}
	want := "--- 198.18.0.2 udp port 7 statistics ---\n" +
		"40 transmitted, 37 received, 2 lost, 1 corrupt, 2 duplicates, 1 late, 5% loss\n"
	if got := buf.String(); !strings.HasPrefix(got, want) ||
		!strings.Contains(got, "rtt min/avg/max/mdev = 0.050/") || !strings.Contains(got, "rtt p50/p90/p99/p99.9 = ") {
		t.Errorf("summary:\n%s\nwant it to start\n%s", got, want)
	}
}
