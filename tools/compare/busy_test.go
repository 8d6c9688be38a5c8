package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exo-os/exo/internal/ping"
)

func TestParseBusy(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  string
	}{
		{"", nil, ""},
		{"none", nil, ""},
		{"0,1,2,4,8,16", []int{0, 1, 2, 4, 8, 16}, ""},
		{" 4 , 0", []int{4, 0}, ""},
		{"0,x", nil, "want comma-separated counts"},
		{"-1", nil, "want comma-separated counts"},
		{"33", nil, "want comma-separated counts"},
		{"1,1", nil, "1 twice"},
		{"1,,2", nil, "want comma-separated counts"},
	} {
		got, err := ParseBusy(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseBusy(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("ParseBusy(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("ParseBusy(%q) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}

// TestBusyManifest: the network demo's own manifest with n spinners
// after its environments, one more slot each, everything else kept.
func TestBusyManifest(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "firmware", "qemu-virt", "net.manifest"))
	if err != nil {
		t.Fatal(err)
	}
	net := string(b)
	for _, n := range []int{0, 1, 16} {
		m, err := BusyManifest(net, n)
		if err != nil {
			t.Fatalf("%d: %v", n, err)
		}
		if got := strings.Count(m, "env testenv arg=\"spin 3600000\"\n"); got != n {
			t.Errorf("%d busy: %d spinners:\n%s", n, got, m)
		}
		if !strings.Contains(m, "\nslots "+itoa(8+n)+"\n") {
			t.Errorf("%d busy: slots not %d:\n%s", n, 8+n, m)
		}
		// The spinners come after every environment of the demo, before
		// its net lines, and the rest is unchanged.
		lines := strings.Split(m, "\n")
		lastEnv, firstSpin, firstNet := -1, -1, -1
		for i, l := range lines {
			switch {
			case strings.HasPrefix(l, "env testenv"):
				if firstSpin < 0 {
					firstSpin = i
				}
			case strings.HasPrefix(l, "env "):
				lastEnv = i
			case strings.HasPrefix(l, "net ") && firstNet < 0:
				firstNet = i
			}
		}
		if n > 0 && !(lastEnv < firstSpin && firstSpin < firstNet) {
			t.Errorf("%d busy: order env %d, spin %d, net %d:\n%s", n, lastEnv, firstSpin, firstNet, m)
		}
		back := strings.ReplaceAll(m, "env testenv arg=\"spin 3600000\"\n", "")
		back = strings.Replace(back, "slots "+itoa(8+n), "slots 8", 1)
		if back != strings.TrimRight(net, "\n")+"\n" {
			t.Errorf("%d busy: more than the spinners and slots changed:\n%s", n, m)
		}
	}
	for _, bad := range []string{"exo-manifest v1\nenv echo\n", "exo-manifest v1\nslots 2\n", "exo-manifest v1\nslots x\nenv echo\n", "slots 1 2\nenv echo\n"} {
		if _, err := BusyManifest(bad, 1); err == nil {
			t.Errorf("BusyManifest(%q): no error", bad)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// busySummary is a summary with p50 and p99 in µs, sent probes and lost.
func busySummary(p50, p99 int, sent, lost int) ping.Summary {
	return ping.Summary{Sent: sent, Received: sent - lost, Lost: lost, P50: time.Duration(p50) * time.Microsecond, P99: time.Duration(p99) * time.Microsecond}
}

func busyRuns() []Run {
	mk := func(scale int) map[int]map[string]ping.Summary {
		return map[int]map[string]ping.Summary{
			0: {"exo-ash": busySummary(200*scale, 400, 100, 0), "exo-upcall": busySummary(250*scale, 500, 50, 0),
				"linux-icmp": busySummary(400*scale, 900, 100, 1), "linux-udp": busySummary(600*scale, 1200, 50, 0)},
			16: {"exo-ash": busySummary(210*scale, 450, 100, 0), "exo-upcall": busySummary(80000*scale, 160000, 50, 2),
				"linux-icmp": busySummary(420*scale, 1000, 100, 0), "linux-udp": busySummary(0, 0, 50, 50)},
		}
	}
	return []Run{{Busy: mk(1)}, {Busy: mk(2)}, {Busy: mk(3)}}
}

func TestComputeBusy(t *testing.T) {
	rows := ComputeBusy(busyRuns())
	if len(rows) != 2 || rows[0].N != 0 || rows[1].N != 16 {
		t.Fatalf("rows %+v", rows)
	}
	if s := rows[0].P50["exo-ash"]; s.Median != 400 || s.Min != 200 || s.Max != 600 || s.N != 3 {
		t.Errorf("0 busy ASH p50 %+v, want 400 (200–600) over 3", s)
	}
	if s := rows[1].P50["exo-upcall"]; s.Median != 160000 {
		t.Errorf("16 busy ring p50 %+v", s)
	}
	// A path with no replies has no figure, and its losses count.
	if s := rows[1].P50["linux-udp"]; s.N != 0 {
		t.Errorf("16 busy Linux UDP with no replies: %+v", s)
	}
	if rows[1].Lost["linux-udp"] != 150 || rows[1].Sent["linux-udp"] != 150 || rows[1].Lost["exo-upcall"] != 6 {
		t.Errorf("losses %v of %v", rows[1].Lost, rows[1].Sent)
	}
	if ComputeBusy([]Run{{}}) != nil {
		t.Error("no sweep: rows")
	}
}

func TestBusyMarkdown(t *testing.T) {
	md := BusyMarkdown(ComputeBusy(busyRuns()), 3)
	for _, want := range []string{
		"### RTT against busy environments",
		"| 0 | 400 (200–600) | 400 | 500 (250–750) | 500 | 800 (400–1200) | 900 | 1200 (600–1800) | 1200 | 0/300 0/150 3/300 0/150 | 0.50× | 0.42× |",
		"| 16 | 420 (210–630) | 450 | 160000 (80000–240000) | 160000 | 840 (420–1260) | 1000 | no replies | no replies | 0/300 6/150 0/300 150/150 | 0.50× | - |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in:\n%s", want, md)
		}
	}
	if BusyMarkdown(nil, 3) != "" {
		t.Error("no sweep: a table")
	}
}

func TestBusyCSVAndPNG(t *testing.T) {
	rows := ComputeBusy(busyRuns())
	var b bytes.Buffer
	if err := WriteCSV(&b, nil, nil, busyCSVRecords(rows)); err != nil {
		t.Fatal(err)
	}
	csv := b.String()
	for _, want := range []string{
		"busy,ICMP echo by the handler in the kernel (ASH) p50 at 0 busy,exo,us,400.000,200.000,600.000,3,,,lost 0/300",
		"busy,UDP echo from the echo environment's ring (upcall) port 9 p99 at 16 busy,exo,us,160000.000",
	} {
		// The path names hold commas: the CSV quotes them.
		want = strings.Replace(want, "(upcall) port 9", "(upcall), port 9", 1)
		if !strings.Contains(strings.ReplaceAll(csv, "\"", ""), want) {
			t.Errorf("no %q in:\n%s", want, csv)
		}
	}
	if strings.Contains(csv, "UDP echo by a user process (linux/init), port 7 p50 at 16 busy") {
		t.Error("a figure for a path without replies")
	}
	b.Reset()
	if err := WriteBusyPNG(&b, rows); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b.Bytes(), []byte("\x89PNG\r\n\x1a\n")) || b.Len() < 10000 {
		t.Fatalf("not a PNG of a figure: %d bytes", b.Len())
	}
}
