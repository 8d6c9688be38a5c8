package main

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/exo-os/exo/internal/ping"
	"github.com/exo-os/exo/internal/ping/pingtest"
)

func exoping(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "want one target address, got 0"},
		{[]string{"198.18.0.2", "198.18.0.3"}, "want one target address, got 2"},
		{[]string{"guest"}, `target "guest": want an IPv4 address`},
		{[]string{"::1"}, `target "::1": want an IPv4 address`},
		{[]string{"-proto", "tcp", "198.18.0.2"}, `-proto "tcp": want icmp or udp`},
		{[]string{"-port", "9", "198.18.0.2"}, "-port applies only to -proto udp"},
		{[]string{"-proto", "udp", "-port", "0", "198.18.0.2"}, "-port 0: want 1 to 65535"},
		{[]string{"-proto", "udp", "-port", "70000", "198.18.0.2"}, "-port 70000: want 1 to 65535"},
		{[]string{"-c", "0", "198.18.0.2"}, "-c 0: want at least 1 probe"},
		{[]string{"-i", "0s", "198.18.0.2"}, "-i 0s: want a positive interval"},
		{[]string{"-W", "-1s", "198.18.0.2"}, "-W -1s: want a positive timeout"},
		{[]string{"-s", "0", "198.18.0.2"}, "-s 0: want 1 to 65507 bytes for icmp"},
		{[]string{"-proto", "udp", "-s", "7", "198.18.0.2"}, "-s 7: want 8 to 65507 bytes for udp"},
		{[]string{"-s", "65508", "198.18.0.2"}, "-s 65508: want 1 to 65507"},
		{[]string{"-via", "tap", "198.18.0.2"}, `-via "tap": want dgram or raw`},
		{[]string{"-via", "raw", "-mac", "02:00:00:00:00:09", "198.18.0.2"}, "-mac applies only to -via dgram"},
		{[]string{"-via", "raw", "-dgram-remote", "127.0.0.1:1", "198.18.0.2"}, "-dgram-remote applies only to -via dgram"},
		{[]string{"-dgram-local", "localhost", "198.18.0.2"}, `-dgram-local "localhost": want host:port`},
		{[]string{"-dgram-remote", "127.0.0.1", "198.18.0.2"}, `-dgram-remote "127.0.0.1": want host:port`},
		{[]string{"-mac", "01:00:5e:00:00:01", "198.18.0.2"}, `-mac "01:00:5e:00:00:01": want a unicast Ethernet address`},
		{[]string{"-mac", "nonsense", "198.18.0.2"}, `-mac "nonsense"`},
		{[]string{"-ip", "198.18.0.1/31", "198.18.0.2"}, `-ip "198.18.0.1/31"`},
		{[]string{"-ip", "fd00::1/64", "198.18.0.2"}, `-ip "fd00::1/64"`},
		{[]string{"10.0.0.2"}, "target 10.0.0.2 is not another host on -ip 198.18.0.1/24's subnet"},
		{[]string{"198.18.0.1"}, "target 198.18.0.1 is not another host"},
		{[]string{"-ip", "10.0.0.1", "10.0.0.1"}, "target 10.0.0.1 is not another host on -ip 10.0.0.1/24's subnet"},
		{[]string{"-c", "many", "198.18.0.2"}, `invalid value "many" for flag -c`},
		{[]string{"-bogus", "198.18.0.2"}, "flag provided but not defined: -bogus"},
		{[]string{"-csv", "/nonexistent/dir/x.csv", "-dgram-remote", "127.0.0.1:1", "198.18.0.2"}, "/nonexistent/dir/x.csv"},
	} {
		code, stdout, stderr := exoping(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("exoping %s: exit %d, stderr %q, stdout %q; want exit 2 and %q", strings.Join(tc.args, " "), code, stderr, stdout, tc.want)
		}
	}
	if code, _, stderr := exoping(t, "-h"); code != exitGood || !strings.Contains(stderr, "-dgram-remote address") {
		t.Errorf("exoping -h: exit %d, %q", code, stderr)
	}
}

// guest starts a fake guest and returns the flags that point exoping at it.
func guest(t *testing.T, o pingtest.Options) []string {
	t.Helper()
	p, err := pingtest.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return []string{"-dgram-local", "127.0.0.1:0", "-dgram-remote", p.Addr().String(), "-i", "1ms", "-W", "3s"}
}

func TestGoodRun(t *testing.T) {
	dir := t.TempDir()
	csvFile, jsonFile, pngFile := filepath.Join(dir, "r.csv"), filepath.Join(dir, "r.json"), filepath.Join(dir, "r.png")
	args := append(guest(t, pingtest.Options{}), "-c", "5", "-hist", "-csv", csvFile, "-json", jsonFile, "-png", pngFile, "198.18.0.2")
	code, stdout, stderr := exoping(t, args...)
	if code != exitGood || stderr != "" {
		t.Fatalf("exit %d, stderr %q, stdout:\n%s", code, stderr, stdout)
	}
	for _, re := range []string{
		`(?m)^EXOPING 198\.18\.0\.2: 56 data bytes, icmp via QEMU -netdev dgram`,
		`(?m)^64 bytes from 198\.18\.0\.2: seq=0 time=\d+\.\d{3} ms$`,
		`(?m)^64 bytes from 198\.18\.0\.2: seq=4 time=\d+\.\d{3} ms$`,
		`(?m)^--- 198\.18\.0\.2 icmp statistics ---$`,
		`(?m)^5 transmitted, 5 received, 0 lost, 0 corrupt, 0 duplicates, 0 late, 0% loss$`,
		`(?m)^rtt min/avg/max/mdev = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms$`,
		`(?m)^rtt p50/p90/p99/p99\.9 = [\d.]+/[\d.]+/[\d.]+/[\d.]+ ms$`,
		`(?m)^RTT histogram: 5 good replies`,
	} {
		if !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("output lacks %s:\n%s", re, stdout)
		}
	}
	f, err := os.Open(csvFile)
	if err != nil {
		t.Fatal(err)
	}
	probes, err := ping.ReadCSV(f)
	f.Close()
	if err != nil || len(probes) != 5 {
		t.Errorf("CSV: %d probes, %v", len(probes), err)
	}
	f, err = os.Open(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ping.ReadJSON(f)
	f.Close()
	if err != nil || res.Summary.Received != 5 || len(res.Probes) != 5 {
		t.Errorf("JSON: %+v, %v", res, err)
	}
	f, err = os.Open(pngFile)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Empty() {
		t.Errorf("PNG: %v", err)
	}
}

func TestBadRuns(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts pingtest.Options
		args []string
		code int
		want []string // in stdout
	}{
		{"lost", pingtest.Options{Fault: pingtest.Drop, Every: 2}, []string{"-c", "2"}, exitBad,
			[]string{"seq=1 lost: no reply within 3s", "2 transmitted, 1 received, 1 lost, 0 corrupt, 0 duplicates, 0 late, 50% loss"}},
		{"corrupt udp", pingtest.Options{Fault: pingtest.CorruptPayload}, []string{"-c", "2", "-proto", "udp", "-s", "20"}, exitBad,
			[]string{"20 bytes from 198.18.0.2: seq=0 time=", "CORRUPT: reply payload byte 19 is", "--- 198.18.0.2 udp port 7 statistics ---", "0 received, 0 lost, 2 corrupt"}},
		{"duplicates are fine", pingtest.Options{Fault: pingtest.Duplicate}, []string{"-c", "3", "-q"}, exitGood,
			[]string{"3 transmitted, 3 received, 0 lost, 0 corrupt, 2 duplicates"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append(append(guest(t, tc.opts), tc.args...), "198.18.0.2")
			code, stdout, stderr := exoping(t, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
			if slices.Contains(tc.args, "-q") && strings.Contains(stdout, "bytes from") {
				t.Errorf("-q printed replies:\n%s", stdout)
			}
		})
	}
}

func TestSetupFailure(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	args := append(guest(t, pingtest.Options{NoARP: true}), "-json", out, "198.18.0.2")
	code, _, stderr := exoping(t, args...)
	if code != exitUsage || !strings.Contains(stderr, "no ARP reply from 198.18.0.2 after 5 tries") {
		t.Errorf("exit %d, stderr %q; want 2 and no ARP reply", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output file left behind after a failed setup: %v", err)
	}
}
