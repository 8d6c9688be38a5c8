package main

import (
	"bufio"
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exo-os/exo/internal/httpdemo"
)

// TestParseClient: benchstack's client samples (testdata/client-samples.txt,
// one JSON line each, as its -client prints them) and broken output.
func TestParseClient(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "client-samples.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for sc := bufio.NewScanner(bytes.NewReader(b)); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	for _, tc := range []struct {
		name, out, measure string
		key                string
		want               float64
		err                string
	}{
		{"download", lines[0], "download", "mbps", 21.53, ""},
		{"http1", lines[1], "http1", "p99_us", 6410.9, ""},
		{"http1 rate", lines[1], "http1", "rps", 452.3, ""},
		{"client error", lines[2], "upload", "", 0, "compare: upload: POST /upload: 200 OK"},
		{"no values", lines[3], "http100", "", 0, "http100: no figures"},
		{"other measurement", lines[0], "upload", "", 0, `answered "download" for upload`},
		{"nothing", "", "download", "", 0, "printed no result for download"},
		{"not JSON", "panic: runtime error\n", "download", "", 0, "printed no result"},
		{"truncated", lines[1][:40], "http1", "", 0, "printed no result"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := ParseClient(tc.out, tc.measure)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseClient: %v, %v; want an error containing %q", v, err, tc.err)
				}
				return
			}
			if err != nil || v[tc.key] != tc.want {
				t.Fatalf("ParseClient: %v, %v; want %s = %v", v, err, tc.key, tc.want)
			}
		})
	}
}

func TestClientArgs(t *testing.T) {
	c := HTTPCounts{Size: 1 << 20, Seq: 7, Conns: 3, PerConn: 2}
	for _, tc := range []struct{ measure, want string }{
		{"download", "-client -measure download -target linux -addr 198.18.0.2:80 -size 1048576"},
		{"http1", "-client -measure http1 -target linux -addr 198.18.0.2:80 -size 1048576 -requests 7"},
		{"http100", "-client -measure http100 -target linux -addr 198.18.0.2:80 -size 1048576 -conns 3 -requests 2"},
	} {
		if got := strings.Join(clientArgs(c, tc.measure, "linux", "198.18.0.2:80"), " "); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.measure, got, tc.want)
		}
	}
}

func httpRuns() []Run {
	f := func(dl, ul, rps1, p50, p99, rps100 float64) Figures {
		return Figures{"download-mbps": dl, "upload-mbps": ul, "http1-rps": rps1, "http1-p50_us": p50, "http1-p99_us": p99,
			"http100-rps": rps100, "http100-p50_us": p50 * 10, "http100-p99_us": p99 * 10}
	}
	return []Run{
		{HTTP: map[string]Figures{"exo": f(4, 2, 400, 2000, 6000, 500), "linux": f(20, 10, 800, 1000, 3000, 1000)}},
		{HTTP: map[string]Figures{"exo": f(5, 3, 500, 2200, 7000, 600), "linux": f(25, 12, 1000, 1100, 3500, 1200)}},
		{HTTP: map[string]Figures{"exo": f(6, 4, 450, 2100, 6500, 550)}}, // Linux's failed: Exo's figure counts, no ratio
	}
}

func TestComputeHTTP(t *testing.T) {
	rows := ComputeHTTP(httpRuns())
	if len(rows) != len(HTTPRows) {
		t.Fatalf("%d rows", len(rows))
	}
	dl := rows[0]
	if dl.Exo.Median != 5 || dl.Exo.N != 3 || dl.Linux.Median != 22.5 || dl.Linux.N != 2 || dl.Ratio.N != 2 || dl.Ratio.Min != 0.2 || dl.Ratio.Max != 0.2 {
		t.Errorf("download %+v", dl)
	}
	if ComputeHTTP([]Run{{}}) != nil {
		t.Error("rows without figures")
	}
	md := HTTPMarkdown(rows, 3, HTTPCounts{Size: 16 << 20, Seq: 200, Conns: 100, PerConn: 5})
	for _, want := range []string{
		"| GET /download (TCP guest → host) | 5.00 (4.00–6.00) MB/s | 22.50 (20.00–25.00) MB/s | 0.20× |",
		"| GET /, 1 connection: p99 | 6500 (6000–7000) µs | 3250 (3000–3500) µs | 2.00× |",
		"transfers of 16777216 bytes",
		"100 connections × 5 GET /",
		"| GET /, 100 connections: rate | 550 (500–600) req/s | 1100 (1000–1200) req/s | 0.50× |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in:\n%s", want, md)
		}
	}
	if HTTPMarkdown(nil, 3, HTTPCounts{}) != "" {
		t.Error("a table without figures")
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, nil, nil, httpCSVRecords(rows, HTTPCounts{Conns: 100})); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"http,GET /download (TCP guest → host),exo,MB/s,5.000,4.000,6.000,3,,0.200,",
		"http,GET /download (TCP guest → host),linux,MB/s,22.500,20.000,25.000,2,,,",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in:\n%s", want, b.String())
		}
	}
}

// TestHTTPClient runs the real client (tools/benchstack -client, built
// as make compare builds it) against internal/httpdemo's site named
// "linux", as linux/init's httpd serves it, on the loopback: every
// measurement of the HTTP table, its figures in place.
func TestHTTPClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds tools/benchstack")
	}
	srv := httptest.NewServer(httpdemo.Handler("linux", func() string { return "runtime heapinuse 1\n" }))
	defer srv.Close()
	c := HTTPCounts{Size: 1 << 20, Seq: 20, Conns: 4, PerConn: 3}
	if err := buildClient(&c); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(c.clientDir)
	addr := strings.TrimPrefix(srv.URL, "http://")
	f, err := runHTTP(c, nil, "linux", addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range HTTPRows {
		if v := f[r.Measure+"-"+r.Key]; !(v > 0) {
			t.Errorf("%s: %v", r.Name, v)
		}
	}
	// The wrong stack's name fails with the client's reason.
	if _, err := runHTTP(c, nil, "exo", addr); err == nil || !strings.Contains(err.Error(), `does not say "Exo httpd (exo stack)"`) {
		t.Errorf("against the wrong name: %v", err)
	}
}
