package manifest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/kernel/abi"
)

func TestParse(t *testing.T) {
	m, err := Parse(`
# the demo
exo-manifest v1
quantum 5ms
slots 16
env hello
env testenv mem=32M slots=2 arg="spin # not a comment \"quoted\""   # a comment
	env counter	arg="b" spawn=yes
env testenv spare=8M spawn=100
`)
	require.NoError(t, err)
	require.Equal(t, 5*time.Millisecond, m.Quantum)
	require.Equal(t, 16, m.Slots)
	require.Equal(t, []Env{
		{Image: "hello", Mem: DefaultMem, Slots: 1, Line: 6},
		{Image: "testenv", Mem: 32 << 20, Slots: 2, Arg: `spin # not a comment "quoted"`, Line: 7},
		{Image: "counter", Mem: DefaultMem, Slots: 1, Arg: "b", Spawn: true, Envs: DefaultEnvs, Line: 8},
		{Image: "testenv", Mem: DefaultMem, Spare: 8 << 20, Slots: 1, Spawn: true, Envs: 100, Line: 9},
	}, m.Envs)
}

func TestDefaults(t *testing.T) {
	m, err := Parse("exo-manifest v1\nenv a\n")
	require.NoError(t, err)
	require.Equal(t, DefaultQuantum, m.Quantum)
	require.Equal(t, DefaultSlots, m.Slots)
}

func TestRejects(t *testing.T) {
	for _, tc := range []struct {
		text string
		line int
		want string
	}{
		{"", 1, "empty manifest"},
		{"env a", 1, "first line must be"},
		{"exo-manifest v2\nenv a", 1, "first line must be"},
		{"exo-manifest v1\n", 2, "nothing to run"},
		{"exo-manifest v1\nboot now\nenv a", 2, `unknown directive "boot"`},
		{"exo-manifest v1\nquantum 5\nenv a", 2, "want a duration"},
		{"exo-manifest v1\nquantum 10us\nenv a", 2, "want a duration from 100µs to 1s"},
		{"exo-manifest v1\nquantum 2s\nenv a", 2, "want a duration"},
		{"exo-manifest v1\nquantum 5ms\nquantum 5ms\nenv a", 3, "set twice"},
		{"exo-manifest v1\nquantum 5ms 6ms\nenv a", 2, "takes one value"},
		{"exo-manifest v1\nslots 0\nenv a", 2, "want 1..64"},
		{"exo-manifest v1\nslots 65\nenv a", 2, "want 1..64"},
		{"exo-manifest v1\nenv", 2, "needs an image name"},
		{"exo-manifest v1\nenv ../etc", 2, "image name"},
		{"exo-manifest v1\nenv a mem", 2, "want key=value"},
		{"exo-manifest v1\nenv a mem=3M mem=4M", 2, "set twice"},
		{"exo-manifest v1\nenv a mem=12345", 2, "not a multiple of 4096"},
		{"exo-manifest v1\nenv a mem=x", 2, "not a size"},
		{"exo-manifest v1\nenv a mem=-4K", 2, "not a size"},
		{"exo-manifest v1\nenv a mem=512K", 2, "want 1M to"},
		{"exo-manifest v1\nenv a mem=2G", 2, "want 1M to"},
		{"exo-manifest v1\nenv a mem=99999999999G", 2, "not a size"},
		{"exo-manifest v1\nenv a slots=0", 2, "want 1..64"},
		{"exo-manifest v1\nenv a slots=x", 2, "want 1..64"},
		{"exo-manifest v1\nenv a arg=bare", 2, "double-quoted"},
		{"exo-manifest v1\nenv a arg=\"open", 2, "unterminated quote"},
		{"exo-manifest v1\nenv a arg=\"" + strings.Repeat("x", abi.MaxArg+1) + "\"", 2, "at most 256"},
		{"exo-manifest v1\nenv a color=red", 2, `unknown key "color"`},
		{"exo-manifest v1\nenv a spawn=maybe", 2, "spawn=maybe: want yes, no, or a number of environments 1..4000"},
		{"exo-manifest v1\nenv a spawn=0", 2, "spawn=0: want yes, no"},
		{"exo-manifest v1\nenv a spawn=4001", 2, "spawn=4001: want yes, no"},
		{"exo-manifest v1\nenv a spare=5G", 2, "spare=5G: at most 4096M"},
		{"exo-manifest v1\nenv a spare=3", 2, "spare: \"3\" is not a multiple of 4096"},
		{"exo-manifest v1\nenv a spawn=yes spawn=no", 2, "set twice"},
		{"exo-manifest v1\nenv a\x01", 2, "control character"},
		{"exo-manifest v1\nslots 2\nenv a slots=2\nenv b", 4, "want 3 slots, the vector has 2"},
		{"exo-manifest v1\n" + strings.Repeat("env a\n", MaxEnvs+1), MaxEnvs + 2, "more than 32 environments"},
		{"exo-manifest v1\n" + strings.Repeat("#", MaxSize), 0, "more than"},
	} {
		_, err := Parse(tc.text)
		require.ErrorContains(t, err, tc.want, "%q", tc.text)
		var e *Error
		require.True(t, errors.As(err, &e))
		require.Equal(t, tc.line, e.Line, "%q: %v", tc.text, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("exo-manifest v1\nquantum 5ms\nslots 8\nenv hello mem=8M slots=2 arg=\"x y\"\n")
	f.Add("exo-manifest v1\nenv a arg=\"\\\"#\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		m, err := Parse(text)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *manifest.Error", err)
			}
			return
		}
		total := 0
		for _, e := range m.Envs {
			if !validName(e.Image) || e.Mem < MinMem || e.Mem > abi.MaxRAM || e.Mem%abi.PageSize != 0 || len(e.Arg) > abi.MaxArg || e.Slots < 1 {
				t.Fatalf("accepted an invalid env %+v", e)
			}
			total += e.Slots
		}
		if len(m.Envs) == 0 || len(m.Envs) > MaxEnvs || total > m.Slots || m.Quantum < MinQuantum || m.Quantum > MaxQuantum {
			t.Fatalf("accepted an invalid manifest %+v", m)
		}
	})
}
