package main

import (
	"os"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseExoBench(t *testing.T) {
	recorded := readTestdata(t, "exo-bench.txt")
	floorBuild := "[1 testenv] bench: procedure call          20.4 ns\n" +
		"[1 testenv] bench: trap floor (asm only)   220.1 ns  10.78x the call\n" +
		"[1 testenv] bench: null system call        437.9 ns  21.46x the call, 1.98x the floor\n"
	for _, tc := range []struct {
		name    string
		console string
		want    Figures
		absent  []string
		err     string
	}{
		{name: "recorded boot (production kernel)", console: recorded,
			want: Figures{"call": 24.8, "null": 1058.4, "nullfp": 1251.7, "yield": 1787.6, "pingpong": 29165.6, "reset": 429787e3},
			// "trap floor  not in this kernel" is no figure.
			absent: []string{"floor"}},
		{name: "exo_floor build", console: floorBuild, want: Figures{"call": 20.4, "floor": 220.1, "null": 437.9}},
		{name: "no null call", console: "[1 testenv] bench: procedure call 20.4 ns\n", err: `no "null" line`},
		{name: "empty console", console: "", err: `no "call" line`},
		{name: "garbled figures", console: "bench: procedure call xx ns\nbench: null system call -3 ns\n", err: `no "call" line`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseExoBench(tc.console)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if f[k] != v {
					t.Errorf("%s = %v, want %v", k, f[k], v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := f[k]; ok {
					t.Errorf("%s = %v, want no figure", k, f[k])
				}
			}
		})
	}
}

func TestParseLinux(t *testing.T) {
	recorded := readTestdata(t, "linux-console.txt")
	c := ParseLinux(recorded)
	if err := c.Check(); err != nil {
		t.Fatalf("recorded boot: %v", err)
	}
	if !c.Ready || !c.Done {
		t.Errorf("Ready %v Done %v, want both", c.Ready, c.Done)
	}
	for k, v := range map[string]float64{"call": 26.6, "getpid": 631.6, "sigsegv": 149520.1, "sigbus": 165713.9, "mprotect100": 16902.2, "shm": 28042.5, "boot-to-init": 318611400} {
		if c.Figures[k] != v {
			t.Errorf("%s = %v, want %v", k, c.Figures[k], v)
		}
	}
	na := ParseLinux("measure: sigbus n/a (no bus error reaches S-mode)\n")
	if _, ok := na.Figures["sigbus"]; ok || na.NA["sigbus"] != "no bus error reaches S-mode" {
		t.Errorf("n/a line: figures %v, reasons %v", na.Figures, na.NA)
	}

	for _, tc := range []struct {
		name, console, err string
	}{
		{"guest error", "measure: call 28.1 ns\nmeasure: error init: mount proc on /proc: no such device\n", "mount proc"},
		{"cut short", strings.Split(recorded, "measure: appel1")[0], "printed no appel1, appel2, yield, pipe, shm"},
		{"no done line", strings.ReplaceAll(recorded, "measure: done", ""), "did not finish"},
		{"kernel log only", "[    0.000000] Linux version 6.1\n", "printed no boot-to-init"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ParseLinux(tc.console).Check()
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("Check: %v, want an error containing %q", err, tc.err)
			}
		})
	}
}

func TestNumber(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"12.5 ns", 12.5, true},
		{"  7 ns  (the rest)", 7, true},
		{"12.5 us", 0, false},
		{"NaN ns", 0, false},
		{"-1 ns", 0, false},
		{"1e300 ns", 0, false},
		{"ns", 0, false},
		{"", 0, false},
	} {
		got, ok := number(tc.in, "ns")
		if got != tc.want || ok != tc.ok {
			t.Errorf("number(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParse feeds both console parsers hostile text: they must not panic,
// and every figure they return must be a finite non-negative number.
func FuzzParse(f *testing.F) {
	f.Add("[1 testenv] bench: procedure call 20.4 ns\nbench: null system call 4 ns\n")
	f.Add("bench: reset to first instruction of env 1: 429787 us\n")
	f.Add("measure: call 28.1 ns\nmeasure: sigbus n/a (why)\nmeasure: done\nready: udp echo on x\n")
	f.Add("measure: \nmeasure: error\nbench: \nbench: reset to first instruction of env : us")
	f.Fuzz(func(t *testing.T, s string) {
		e, _ := ParseExoBench(s)
		l := ParseLinux(s)
		l.Check()
		for _, fs := range []Figures{e, l.Figures} {
			for k, v := range fs {
				if v < 0 || v != v || v > 1e18 {
					t.Fatalf("%s = %v", k, v)
				}
			}
		}
	})
}

func TestParseExoExc(t *testing.T) {
	console := "exo: booting\n" +
		"[1 testenv] exc: bench: procedure call 24.1 ns, null system call 560.2 ns (23.24x the call)\n" +
		"[1 testenv] exc: bench: illegal instruction delivered and resumed 6500.3 ns  11.60x the null call, 269.70x the call\n" +
		"[1 testenv] exc: bench: misaligned AMO delivered and resumed      6600.0 ns  11.78x the null call, 273.85x the call\n"
	f, err := ParseExoExc(console)
	if err != nil {
		t.Fatal(err)
	}
	want := Figures{"exc-call": 24.1, "exc-null": 560.2, "exc-ill": 6500.3, "exc-amo": 6600}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %v, want %v", k, f[k], v)
		}
	}
	// The bench parser must not take the exc boot's call for its own.
	if b, _ := ParseExoBench(console); len(b) != 0 {
		t.Errorf("ParseExoBench read the exc lines: %v", b)
	}
	for _, tc := range []struct{ console, err string }{
		{"[1 testenv] testenv: unknown role \"exc\"\n", "before issue 13"},
		{"[1 testenv] exc: bench: illegal instruction delivered and resumed ? ns\n", "no illegal-instruction line"},
	} {
		if _, err := ParseExoExc(tc.console); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseExoExc(%q): %v, want an error containing %q", tc.console, err, tc.err)
		}
	}
}

// TestParseExoExOS: the VM and IPC tables' lines, as testenv prints them.
func TestParseExoExOS(t *testing.T) {
	vm := `[1 testenv] vm: bench
[1 testenv] bench: vm: procedure call  10.0 ns
[1 testenv] bench: vm: dirty      1786.0 ns  178.60x the call
[1 testenv] bench: vm: prot1      4162.2 ns  416.22x the call
[1 testenv] bench: vm: prot100    58892.0 ns  5889.20x the call
[1 testenv] bench: vm: trap       2126.1 ns  212.61x the call
[1 testenv] bench: vm: appel2     6775.6 ns  677.56x the call
[1 testenv] bench: vm: (300000 faults handled)
`
	f, err := ParseExoExOS(vm, "vm-")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]float64{"vm-call": 10, "vm-dirty": 1786, "vm-prot1": 4162.2, "vm-prot100": 58892, "vm-trap": 2126.1, "vm-appel2": 6775.6} {
		if f[k] != v {
			t.Errorf("%s = %v, want %v", k, f[k], v)
		}
	}
	if len(f) != 6 {
		t.Errorf("%d figures, want 6: %v", len(f), f)
	}
	ipc := `[1 testenv] bench: ipc procedure call       10.0 ns
[1 testenv] bench: ipc pipe  round trip     1827.0 ns  182.70x the call
[1 testenv] bench: ipc pipe' round trip     1116.0 ns  111.60x the call
[1 testenv] bench: ipc shm   round trip     1000.0 ns  100.00x the call
[1 testenv] bench: ipc lrpc  round trip     5272.2 ns  527.22x the call
`
	f, err = ParseExoExOS(ipc, "ipc-")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]float64{"ipc-call": 10, "ipc-pipe": 1827, "ipc-pipe'": 1116, "ipc-shm": 1000, "ipc-lrpc": 5272.2} {
		if f[k] != v {
			t.Errorf("%s = %v, want %v", k, f[k], v)
		}
	}
	if _, err := ParseExoExOS("[1 testenv] testenv: unknown role \"vm\"\n", "vm-"); err == nil {
		t.Error("a console without figures parsed")
	}
}
