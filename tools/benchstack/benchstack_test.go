package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exo-os/exo/internal/httpdemo"
)

// recorded is the -quick smoke run of 2026-12-04 (one round), as the
// clients printed it.
const recorded = `
{"round":1,"target":"exo","measure":"download","values":{"bytes":4194304,"mbps":3.81,"seconds":1.1}}
{"round":1,"target":"gvisor","measure":"download","values":{"bytes":4194304,"mbps":3.11,"seconds":1.35}}
{"round":1,"target":"exo","measure":"upload","values":{"bytes":4194304,"mbps":13.67,"seconds":0.31}}
{"round":1,"target":"gvisor","measure":"upload","values":{"bytes":4194304,"mbps":14.35,"seconds":0.29}}
{"round":1,"target":"exo","measure":"http1","values":{"rps":1598,"p50_us":521,"p90_us":777,"p99_us":1852,"mean_us":610}}
{"round":1,"target":"gvisor","measure":"http1","values":{"rps":833,"p50_us":949,"p90_us":1337,"p99_us":3053,"mean_us":1190}}
{"round":1,"target":"exo","measure":"http100","values":{"rps":1096,"p50_us":7429,"p90_us":46242,"p99_us":59718}}
{"round":1,"target":"gvisor","measure":"http100","values":{"rps":999,"p50_us":14026,"p90_us":38023,"p99_us":44019}}
{"round":1,"target":"exo","measure":"udp","values":{"p50_us":354,"p99_us":2042,"mean_us":488,"loss_pct":0,"sent":200,"received":200}}
{"round":1,"target":"gvisor","measure":"udp","values":{"p50_us":684,"p99_us":13972,"mean_us":1881,"loss_pct":0,"sent":200,"received":200}}
{"round":1,"target":"exo","measure":"mem","values":{"conns":20},"note":"no \"runtime heapinuse\" line in /stats: memory per connection n/a"}
{"round":1,"target":"gvisor","measure":"mem","values":{"conns":20},"note":"no \"runtime heapinuse\" line in /stats: memory per connection n/a"}
`

func decode(t *testing.T, text string) []Sample {
	t.Helper()
	var out []Sample
	d := json.NewDecoder(strings.NewReader(text))
	for d.More() {
		var s Sample
		if err := d.Decode(&s); err != nil {
			t.Fatalf("recorded samples: %v", err)
		}
		out = append(out, s)
	}
	return out
}

func report(samples []Sample, rounds int) Report {
	return Report{
		Command:  "go run ./tools/benchstack -firmware /tmp/benchstack-fw.elf -out build/bench-stack",
		Firmware: "/tmp/benchstack-fw.elf",
		Date:     time.Date(2026, 12, 4, 18, 55, 53, 0, time.UTC),
		Rounds:   rounds,
		Params:   fullCounts.String(),
		Size:     16 << 20,
		Servers:  []string{"exo", "gvisor"},
		UDP:      udpTargets,
		Samples:  samples,
	}
}

// threeRounds has three rounds of download and http1, a failed round of
// gvisor's upload, and memory figures.
func threeRounds() []Sample {
	var s []Sample
	for r, v := range [][2]float64{{10, 20}, {30, 10}, {20, 40}} {
		s = append(s,
			Sample{Round: r + 1, Target: "exo", Measure: "download", Values: map[string]float64{"mbps": v[0]}},
			Sample{Round: r + 1, Target: "gvisor", Measure: "download", Values: map[string]float64{"mbps": v[1]}},
			Sample{Round: r + 1, Target: "exo", Measure: "http1", Values: map[string]float64{"p50_us": 100 * v[0]}},
			Sample{Round: r + 1, Target: "gvisor", Measure: "http1", Values: map[string]float64{"p50_us": 100 * v[1]}},
			Sample{Round: r + 1, Target: "exo", Measure: "mem", Values: map[string]float64{"per_conn": 4096 + v[0]}},
			Sample{Round: r + 1, Target: "gvisor", Measure: "mem", Values: map[string]float64{"per_conn": 8192 + v[1]}},
		)
	}
	s = append(s,
		Sample{Round: 1, Target: "exo", Measure: "upload", Values: map[string]float64{"mbps": 5}},
		Sample{Round: 1, Target: "gvisor", Measure: "upload", Err: "POST /upload: 200 OK \"1 00\\n\", want \"16777216 ab\\n\""},
	)
	return s
}

func TestPercentile(t *testing.T) {
	ten := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		name string
		v    []float64
		p    float64
		want float64
	}{
		{"empty", nil, 50, 0},
		{"one value", []float64{7}, 99, 7},
		{"p50 of ten is the 5th", ten, 50, 5},
		{"p90 of ten is the 9th", ten, 90, 9},
		{"p99 of ten is the largest", ten, 99, 10},
		{"p100 is the largest", ten, 100, 10},
		{"a tiny p is the smallest", ten, 0.01, 1},
		{"p0 is the smallest", ten, 0, 1},
		{"p51 of ten is the 6th", ten, 51, 6},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := percentile(c.v, c.p); got != c.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", c.v, c.p, got, c.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		v    []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := append([]float64(nil), c.v...)
		if got := median(c.v); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.v, got, c.want)
		}
		for i := range in {
			if in[i] != c.v[i] {
				t.Errorf("median reordered its argument: %v, was %v", c.v, in)
			}
		}
	}
}

func TestLatencies(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- { // out of order on purpose
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	got := latencies(d)
	want := map[string]float64{"p50_us": 50000, "p90_us": 90000, "p99_us": 99000, "mean_us": 50500, "min_us": 1000, "max_us": 100000}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("latencies: %s = %v, want %v", k, got[k], v)
		}
	}
	if e := latencies(nil); e["p50_us"] != 0 || len(e) != 3 {
		t.Errorf("latencies(nil) = %v, want zero percentiles only", e)
	}
}

func TestSpreadAndCell(t *testing.T) {
	s := threeRounds()
	sp, ok := spread(s, "exo", "download", "mbps")
	if !ok || sp.Median != 20 || sp.Min != 10 || sp.Max != 30 || fmt.Sprint(sp.Values) != "[10 30 20]" {
		t.Errorf("spread exo download = %+v, %v; want median 20, 10..30, values in round order", sp, ok)
	}
	for _, c := range []struct {
		target string
		m      Metric
		want   string
	}{
		{"exo", metrics[0], "20.0 (10.0..30.0)"},
		{"gvisor", metrics[0], "20.0 (10.0..40.0)"},
		{"exo", metrics[1], "5.00"},      // one round: no spread
		{"gvisor", metrics[1], "FAILED"}, // its only round failed
		{"exo", metrics[2], "n/a"},       // measured, without the figure
		{"exo", metricByKey(t, "http100", "rps"), "not run"},
		{"exo", metricByKey(t, "udp", "p50_us"), "not run"},
		{"exo", metrics[3], "2000 (1000..3000)"},
		{"exo", metricByKey(t, "mem", "per_conn"), "4116 (4106..4126)"},
	} {
		if got := cell(s, c.target, c.m); got != c.want {
			t.Errorf("cell(%s, %s) = %q, want %q", c.target, c.m.Label, got, c.want)
		}
	}
	// A failed round beside good ones is marked.
	s = append(s, Sample{Round: 4, Target: "exo", Measure: "download", Err: "GET: connection reset"})
	if got := cell(s, "exo", metrics[0]); got != "20.0 (10.0..30.0) (a round FAILED)" {
		t.Errorf("cell with a failed round = %q", got)
	}
}

func metricByKey(t *testing.T, measure, key string) Metric {
	t.Helper()
	for _, m := range metrics {
		if m.Measure == measure && m.Key == key {
			return m
		}
	}
	t.Fatalf("no metric %s %s", measure, key)
	return Metric{}
}

func TestRatioAndAhead(t *testing.T) {
	s := decode(t, recorded)
	for _, c := range []struct {
		measure, key string
		ratio        string
		ahead        string
	}{
		{"download", "mbps", "1.23", "exo"},     // higher is better: exo's is higher
		{"upload", "mbps", "0.95", "gvisor"},    // higher is better: gvisor's is higher
		{"http1", "p50_us", "0.55", "exo"},      // lower is better: exo's is lower
		{"http100", "p99_us", "1.36", "gvisor"}, // lower is better: gvisor's is lower
		{"udp", "loss_pct", "equal", ""},        // 0 and 0
		{"mem", "per_conn", "n/a", ""},          // no heapinuse
	} {
		m := metricByKey(t, c.measure, c.key)
		if got := ratioCell(s, "exo", "gvisor", m); got != c.ratio {
			t.Errorf("%s %s: ratio %q, want %q", c.measure, c.key, got, c.ratio)
		}
		if got := ahead(s, "exo", "gvisor", m); got != c.ahead {
			t.Errorf("%s %s: ahead %q, want %q", c.measure, c.key, got, c.ahead)
		}
	}
	// A zero denominator beside a non-zero numerator has no ratio.
	z := []Sample{
		{Target: "exo", Measure: "udp", Values: map[string]float64{"loss_pct": 1}},
		{Target: "gvisor", Measure: "udp", Values: map[string]float64{"loss_pct": 0}},
	}
	if got := ratioCell(z, "exo", "gvisor", metricByKey(t, "udp", "loss_pct")); got != "n/a" {
		t.Errorf("1/0: ratio %q, want n/a", got)
	}
	// A negative figure (a heap that shrank) has no ratio either.
	neg := []Sample{
		{Target: "exo", Measure: "mem", Values: map[string]float64{"per_conn": -4000}},
		{Target: "gvisor", Measure: "mem", Values: map[string]float64{"per_conn": 5000}},
	}
	if got := ratioCell(neg, "exo", "gvisor", metricByKey(t, "mem", "per_conn")); got != "n/a" {
		t.Errorf("-4000/5000: ratio %q, want n/a", got)
	}
}

func TestMarkdownRecorded(t *testing.T) {
	md := markdown(report(decode(t, recorded), 1))
	for _, want := range []string{
		"Command: `go run ./tools/benchstack -firmware /tmp/benchstack-fw.elf -out build/bench-stack`  ",
		"| measurement | unit | exo | gvisor | exo/gvisor | better | ahead |",
		"| TCP env→host: GET /download 16 MiB | MB/s | 3.81 | 3.11 | 1.23 | higher | exo |",
		"| TCP host→env: POST /upload 16 MiB | MB/s | 13.7 | 14.3 | 0.95 | higher | gvisor |",
		"| HTTP GET /, 1 connection: rate | req/s | 1598 | 833 | 1.92 | higher | exo |",
		"| HTTP GET /, 100 connections: p99 | µs | 59718 | 44019 | 1.36 | lower | gvisor |",
		"| UDP echo 64 B (ring + stack): loss | % | 0.00 | 0.00 | equal | lower |  |",
		"| memory per idle keep-alive connection (heap in use) | bytes | n/a | n/a | n/a | lower |  |",
		"| exo | 5007 | 354 | 2042 | 488 | 0.00 |",
		"| gvisor | 5008 | 684 | 13972 | 1881 | 0.00 |",
		"- exo: no \"runtime heapinuse\" line in /stats: memory per connection n/a",
	} {
		if !strings.Contains(md, want+"\n") {
			t.Errorf("the Markdown lacks the line\n%s\nin\n%s", want, md)
		}
	}
	if strings.Contains(md, "FAILED") {
		t.Errorf("a run without failures says FAILED:\n%s", md)
	}
	// Every metric has its row.
	if got := strings.Count(md, "\n| "); got != 1+len(metrics)+1+len(udpTargets) {
		t.Errorf("%d table lines, want %d:\n%s", got, 1+len(metrics)+1+len(udpTargets), md)
	}
}

// A third UDP target (the vectoring ASH) gets a row of the UDP table and
// none of the main one.
func TestMarkdownThirdUDPTarget(t *testing.T) {
	s := append(decode(t, recorded), Sample{Round: 1, Target: "ash", Measure: "udp", Values: map[string]float64{"p50_us": 40, "p99_us": 90, "mean_us": 45.5, "loss_pct": 0.5}})
	r := report(s, 1)
	r.UDP = append(append([]UDPTarget(nil), udpTargets...), UDPTarget{"ash", 7})
	md := markdown(r)
	if !strings.Contains(md, "| ash | 7 | 40.0 | 90.0 | 45.5 | 0.50 |\n") {
		t.Errorf("no ash row in\n%s", md)
	}
	var buf bytes.Buffer
	if err := writeCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\nash,udp,p50_us,p50,µs,lower,1,40,40,40,40,ok\n") {
		t.Errorf("no ash line in the CSV:\n%s", buf.String())
	}
}

// Failures are listed, and the table is whole even when everything
// failed.
func TestMarkdownFailures(t *testing.T) {
	r := report(threeRounds(), 3)
	r.Failures = []string{"gvisor (port 8080): upload, round 1: POST /upload: 200 OK\nwrong"}
	md := markdown(r)
	for _, want := range []string{
		"| TCP env→host: GET /download 16 MiB | MB/s | 20.0 (10.0..30.0) | 20.0 (10.0..40.0) | 1.00 | higher |  |",
		"| TCP host→env: POST /upload 16 MiB | MB/s | 5.00 | FAILED | n/a | higher |  |",
		"| memory per idle keep-alive connection (heap in use) | bytes | 4116 (4106..4126) | 8212 (8202..8232) | 0.50 | lower | exo |",
		"FAILED:\n- gvisor (port 8080): upload, round 1: POST /upload: 200 OK wrong",
	} {
		if !strings.Contains(md, want+"\n") {
			t.Errorf("the Markdown lacks\n%s\nin\n%s", want, md)
		}
	}
	var none []Sample
	for _, tg := range []string{"exo", "gvisor"} {
		for _, ms := range measures {
			none = append(none, Sample{Round: 1, Target: tg, Measure: ms, Err: "connection refused"})
		}
	}
	md = markdown(report(none, 1))
	if got := strings.Count(md, "| FAILED | FAILED | n/a |"); got != len(metrics) {
		t.Errorf("%d rows FAILED for both, want %d:\n%s", got, len(metrics), md)
	}
	var buf bytes.Buffer
	if err := drawRatios(&buf, report(none, 1)); err != nil {
		t.Fatalf("the chart of no ratios: %v", err)
	}
}

func TestCSV(t *testing.T) {
	r := report(threeRounds(), 3)
	var buf bytes.Buffer
	if err := writeCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v", err)
	}
	extra := 0 // UDP targets that are not servers get rows of their own
	for _, u := range udpTargets {
		if u.Name != "exo" && u.Name != "gvisor" {
			extra += len(udpMetrics)
		}
	}
	if got, want := len(rows), 1+2*len(metrics)+extra+len(metrics); got != want {
		t.Fatalf("%d CSV rows, want %d", got, want)
	}
	if h := strings.Join(rows[0], ","); h != "target,measure,key,label,unit,better,rounds,median,min,max,values,status" {
		t.Errorf("header %q", h)
	}
	find := func(target, measure, key string) []string {
		for _, r := range rows {
			if r[0] == target && r[1] == measure && r[2] == key {
				return r
			}
		}
		t.Fatalf("no CSV row %s %s %s", target, measure, key)
		return nil
	}
	for _, c := range []struct {
		target, measure, key, want string
	}{
		{"exo", "download", "mbps", "exo,download,mbps,TCP env→host: GET /download 16 MiB,MB/s,higher,3,20,10,30,10;30;20,ok"},
		{"gvisor", "upload", "mbps", "gvisor,upload,mbps,TCP host→env: POST /upload 16 MiB,MB/s,higher,0,,,,,failed"},
		{"exo", "udp", "p50_us", "exo,udp,p50_us,UDP echo 64 B (ring + stack): p50,µs,lower,0,,,,,n/a"},
		{"exo/gvisor", "mem", "per_conn", "exo/gvisor,mem,per_conn,memory per idle keep-alive connection (heap in use),ratio,lower,," + fmt.Sprint(4116.0/8212.0) + ",,,,ok"},
		{"exo/gvisor", "upload", "mbps", "exo/gvisor,upload,mbps,TCP host→env: POST /upload 16 MiB,ratio,higher,,,,,,n/a"},
	} {
		if got := strings.Join(find(c.target, c.measure, c.key), ","); got != c.want {
			t.Errorf("CSV row\n got %s\nwant %s", got, c.want)
		}
	}
}

func TestDrawRatios(t *testing.T) {
	r := report(decode(t, recorded), 1)
	bs := bars(r)
	// Rows with a ratio: all but UDP loss (equal) and memory (n/a).
	if len(bs) != len(metrics)-2 {
		t.Errorf("%d bars, want %d", len(bs), len(metrics)-2)
	}
	for _, b := range bs {
		if strings.HasPrefix(b.label, "TCP host→env") && b.ahead {
			t.Errorf("upload 0.95 (higher better) drawn as exo ahead")
		}
		if strings.HasPrefix(b.label, "HTTP GET /, 1 connection: p50") && !b.ahead {
			t.Errorf("http1 p50 0.55 (lower better) drawn as gvisor ahead")
		}
	}
	var buf bytes.Buffer
	if err := drawRatios(&buf, r); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 500 || b.Dy() < 300 {
		t.Errorf("a %v image", b)
	}
}

func TestParseStats(t *testing.T) {
	got := parseStats("link sent 12\nlink lasterror \"ring full\"\nruntime heapinuse 4194304\n\ngarbage\ntcp x y\nip in 1 2\n")
	want := map[string]float64{"link sent": 12, "runtime heapinuse": 4194304}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseStats = %v, want %v", got, want)
	}
}

func TestShellQuote(t *testing.T) {
	got := shellQuote([]string{"-firmware", "/tmp/a b.elf", "-out", "build/bench-stack", "", "it's"})
	want := `-firmware '/tmp/a b.elf' -out build/bench-stack '' 'it'\''s'`
	if got != want {
		t.Errorf("shellQuote = %s, want %s", got, want)
	}
}

func TestJobs(t *testing.T) {
	if got := targets("udp"); len(got) != len(udpTargets) || got[0] != (target{"exo", 5007}) || got[1] != (target{"gvisor", 5008}) {
		t.Errorf("targets(udp) = %v", got)
	}
	if got := targets("download"); len(got) != 2 || got[0] != (target{"exo", 80}) || got[1] != (target{"gvisor", 8080}) {
		t.Errorf("targets(download) = %v", got)
	}
	j := jobFor("http100", "gvisor", 8080, fullCounts)
	if j.Addr != "198.18.0.2:8080" || j.Conns != 100 || j.Requests != 20 {
		t.Errorf("jobFor http100 = %+v", j)
	}
	if j := jobFor("http1", "exo", 80, fullCounts); j.Requests != 500 || j.Conns != 0 {
		t.Errorf("jobFor http1 = %+v", j)
	}
	if j := jobFor("mem", "exo", 80, fullCounts); j.Conns != 100 {
		t.Errorf("jobFor mem = %+v", j)
	}
	args := strings.Join(jobFor("udp", "exo", 5007, fullCounts).args(2), " ")
	if want := "-client -round 2 -measure udp -target exo -addr 198.18.0.2:5007 -size 16777216 -requests 0 -conns 0 -probes 1000 -interval 1ms"; args != want {
		t.Errorf("args = %s, want %s", args, want)
	}
}

// The client's measurements against httpdemo on loopback: what runs in
// the namespace against the environments.
func TestClientHTTP(t *testing.T) {
	// The heap grows by 5000 bytes per front page served (the memory
	// row's connections make one each) and by 700 per /stats reading.
	var pages, calls atomic.Int64
	stats := func() string {
		return fmt.Sprintf("link sent 1\nruntime heapinuse %d\n", 1_000_000+5000*pages.Load()+700*calls.Add(1))
	}
	site := httpdemo.Handler("exo", stats)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			pages.Add(1)
		}
		site.ServeHTTP(w, r)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	for _, c := range []struct {
		j     Job
		check func(map[string]float64) error
	}{
		{Job{Measure: "download", Size: 1 << 20}, func(v map[string]float64) error {
			if v["bytes"] != 1<<20 || v["mbps"] <= 0 {
				return fmt.Errorf("%v", v)
			}
			return nil
		}},
		{Job{Measure: "upload", Size: 1<<20 + 3}, func(v map[string]float64) error {
			if v["bytes"] != 1<<20+3 || v["mbps"] <= 0 {
				return fmt.Errorf("%v", v)
			}
			return nil
		}},
		{Job{Measure: "http1", Requests: 50}, func(v map[string]float64) error {
			if v["requests"] != 50 || v["rps"] <= 0 || !(v["p50_us"] <= v["p90_us"] && v["p90_us"] <= v["p99_us"]) {
				return fmt.Errorf("%v", v)
			}
			return nil
		}},
		{Job{Measure: "http100", Conns: 10, Requests: 5}, func(v map[string]float64) error {
			if v["requests"] != 50 || v["rps"] <= 0 || v["p50_us"] <= 0 {
				return fmt.Errorf("%v", v)
			}
			return nil
		}},
		{Job{Measure: "mem", Conns: 10}, func(v map[string]float64) error {
			// 5 steps of 2 connections: 10000+700 per step, 700 idle.
			if v["per_conn"] != 5000 || v["idle_growth"] != 700 || v["delta_per_conn"] != (10*5000+5*700)/10 || v["conns"] != 10 {
				return fmt.Errorf("%v, want per_conn 5000, idle_growth 700, delta_per_conn 5350", v)
			}
			return nil
		}},
	} {
		j := c.j
		j.Target, j.Addr = "exo", addr
		v, note, err := j.run(ctx)
		if err != nil || note != "" {
			t.Errorf("%s: %v (note %q)", j.Measure, err, note)
			continue
		}
		if err := c.check(v); err != nil {
			t.Errorf("%s: %v", j.Measure, err)
		}
	}
	// The wrong stack's page is an error that names it.
	j := Job{Measure: "http1", Requests: 1, Target: "gvisor", Addr: addr}
	if _, _, err := j.run(ctx); err == nil || !strings.Contains(err.Error(), `"Exo httpd (gvisor stack)"`) {
		t.Errorf("http1 against the other stack: %v", err)
	}
}

func TestMemoryPerConn(t *testing.T) {
	idle := []float64{1000, 1010, 1020, 1030, 1040, 1050} // 10 per reading
	for _, c := range []struct {
		name     string
		steps    []float64 // heap after each step of 20 connections
		opened   []int
		want     float64
		wantIdle float64
	}{
		{"steady", []float64{2060, 3070, 4080, 5090, 6100}, []int{20, 40, 60, 80, 100}, 50, 10},
		// A collection in the third step (the heap fell by 2000):
		// the median ignores it.
		{"a collection", []float64{2060, 3070, 2080, 3090, 4100}, []int{20, 40, 60, 80, 100}, 50, 10},
		// A last short step counts per connection opened.
		{"uneven steps", []float64{2060, 3070, 3580}, []int{20, 40, 50}, 50, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, gotIdle := memoryPerConn(append(append([]float64(nil), idle...), c.steps...), len(idle), c.opened)
			if got != c.want || gotIdle != c.wantIdle {
				t.Errorf("memoryPerConn = %v, idle %v; want %v, %v", got, gotIdle, c.want, c.wantIdle)
			}
		})
	}
	// A collection among the idle readings does not move idle growth.
	r := []float64{1000, 1010, 500, 510, 520, 530, 1530}
	if got, gotIdle := memoryPerConn(r, 6, []int{20}); gotIdle != 10 || got != 49.5 {
		t.Errorf("memoryPerConn with a collection while idle = %v, idle %v; want 49.5, 10", got, gotIdle)
	}
	if got, gotIdle := memoryPerConn([]float64{1}, 6, []int{20}); got != 0 || gotIdle != 0 {
		t.Errorf("memoryPerConn with too few readings = %v, %v", got, gotIdle)
	}
}

// Without "runtime heapinuse" the memory row is n/a, with a note.
func TestClientMemoryWithoutHeap(t *testing.T) {
	srv := httptest.NewServer(httpdemo.Handler("gvisor", func() string { return "link sent 1\n" }))
	defer srv.Close()
	j := Job{Measure: "mem", Conns: 5, Target: "gvisor", Addr: strings.TrimPrefix(srv.URL, "http://")}
	v, note, err := j.run(context.Background())
	if err != nil || !strings.Contains(note, "n/a") {
		t.Fatalf("mem: %v, note %q", err, note)
	}
	if _, has := v["per_conn"]; has {
		t.Errorf("per_conn without heapinuse: %v", v)
	}
}

// A download whose bytes or header are wrong fails, saying so.
func TestClientDownloadChecks(t *testing.T) {
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"a wrong header", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Content-SHA256", strings.Repeat("0", 64))
			w.Write(make([]byte, 1000))
		}, "X-Content-SHA256"},
		{"short", func(w http.ResponseWriter, r *http.Request) {
			w.Write(make([]byte, 10))
		}, "10 bytes"},
		{"not the pattern", func(w http.ResponseWriter, r *http.Request) {
			b := make([]byte, 1000)
			w.Header().Set("X-Content-SHA256", fmt.Sprintf("%x", sha(b)))
			w.Write(b)
		}, "not the pattern's"},
	} {
		t.Run(c.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle("GET /{$}", httpdemo.Handler("exo", func() string { return "" }))
			mux.HandleFunc("GET /download", c.handler)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			j := Job{Measure: "download", Size: 1000, Target: "exo", Addr: strings.TrimPrefix(srv.URL, "http://")}
			_, _, err := j.run(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("download from a server sending %s: %v, want an error saying %q", c.name, err, c.want)
			}
		})
	}
}

// udpServer echoes on loopback, changing the replies with mangle (nil
// drops the datagram).
func udpServer(t *testing.T, mangle func(i int, b []byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for i := 0; ; i++ {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if b := mangle(i, buf[:n]); b != nil {
				pc.WriteTo(b, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func TestClientUDP(t *testing.T) {
	j := Job{Measure: "udp", Target: "exo", Probes: 100, Interval: 100 * time.Microsecond, Linger: 200 * time.Millisecond}
	j.Addr = udpServer(t, func(i int, b []byte) []byte { return b })
	v, _, err := j.run(context.Background())
	if err != nil || v["received"] != 100 || v["loss_pct"] != 0 || v["p50_us"] <= 0 {
		t.Errorf("udp echo: %v, %v", v, err)
	}
	// Every tenth datagram dropped: 10% loss.
	j.Addr = udpServer(t, func(i int, b []byte) []byte {
		if i%10 == 3 {
			return nil
		}
		return b
	})
	v, _, err = j.run(context.Background())
	if err != nil || v["received"] != 90 || v["loss_pct"] != 10 {
		t.Errorf("udp echo with drops: %v, %v", v, err)
	}
	// A changed byte fails the measurement.
	j.Addr = udpServer(t, func(i int, b []byte) []byte {
		if i == 5 {
			b[40] ^= 1
		}
		return b
	})
	if _, _, err := j.run(context.Background()); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("udp echo with a corrupt reply: %v", err)
	}
	// No echo at all.
	j.Addr = udpServer(t, func(int, []byte) []byte { return nil })
	if _, _, err := j.run(context.Background()); err == nil || !strings.Contains(err.Error(), "no echo") {
		t.Errorf("udp echo without replies: %v", err)
	}
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }

func TestLog2Ticks(t *testing.T) {
	var got []string
	for _, k := range log2Ticks(-2.5, 3.5) {
		got = append(got, fmt.Sprintf("%v:%s", k.Value, k.Label))
	}
	if want := "[-2:0.25 -1:0.5 0:1 1:2 2:4 3:8]"; fmt.Sprint(got) != want {
		t.Errorf("log2Ticks(-2.5, 3.5) = %v, want %s", got, want)
	}
	if n := len(log2Ticks(-10, 10)); n != 21 {
		t.Errorf("log2Ticks(-10, 10): %d ticks, want 21", n)
	}
}
