package envpack

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io/fs"
	"math/rand/v2"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// program makes a fake image: pseudo-random "code" in which a few bytes
// every 24 differ by seed, as two Go programs' shared runtime does once
// relocated.
func program(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for i := 0; i < n; i += 24 {
		b[i] ^= byte(seed)
	}
	return b
}

func TestPackOpenRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		images []Image
		// maxBytes bounds the archive.
		maxBytes int
	}{
		{"one byte", []Image{{"a.elf", []byte{7}}}, 64},
		{"empty image", []Image{{"a.elf", nil}, {"b.elf", []byte("bb")}}, 64},
		{"runs", []Image{{"zeros.elf", make([]byte, 100_000)}}, 1000},
		// Two images sharing all but one byte in 24: the second costs
		// a fraction of the first (which is incompressible).
		{"shared", []Image{{"hello.elf", program(200_000, 1)}, {"counter.elf", program(200_000, 2)}}, 200_000 + 60_000},
		{"overlapping copy", []Image{{"x.elf", bytes.Repeat([]byte("abc"), 1000)}}, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Pack(tc.images)
			require.NoError(t, err)
			require.LessOrEqual(t, len(a), tc.maxBytes)
			again, err := Pack(tc.images)
			require.NoError(t, err)
			require.Equal(t, a, again, "deterministic")
			fsys, err := Open(a)
			require.NoError(t, err)
			var names []string
			for _, im := range tc.images {
				names = append(names, im.Name)
				got, err := fs.ReadFile(fsys, im.Name)
				require.NoError(t, err)
				require.Equal(t, len(im.Data), len(got))
				require.True(t, bytes.Equal(im.Data, got), im.Name)
			}
			require.NoError(t, fstest.TestFS(fsys, names...))
		})
	}
}

func TestPackRefuses(t *testing.T) {
	for _, tc := range []struct {
		images []Image
		err    string
	}{
		{nil, "0 images"},
		{[]Image{{"", []byte{1}}}, "want a file name of 1..64 bytes"},
		{[]Image{{"a/b", []byte{1}}}, "want a file name"},
		{[]Image{{".", []byte{1}}}, "want a file name"},
		{[]Image{{"a", nil}, {"a", nil}}, `"a" appears twice`},
	} {
		_, err := Pack(tc.images)
		require.ErrorContains(t, err, tc.err)
	}
}

// archive builds a raw archive from a header and a command stream, to
// hand Open what Pack would never write.
func archive(t *testing.T, count int, names []string, sizes []uint64, cmds, lits []byte) []byte {
	return archiveCRC(t, count, names, sizes, nil, cmds, lits)
}

// archiveCRC is archive with the images' checksums (zero when crcs is
// nil).
func archiveCRC(t *testing.T, count int, names []string, sizes, crcs []uint64, cmds, lits []byte) []byte {
	var s []byte
	s = binary.AppendUvarint(s, uint64(count))
	for i, n := range names {
		s = binary.AppendUvarint(s, uint64(len(n)))
		s = append(s, n...)
		s = binary.AppendUvarint(s, sizes[i])
		var crc uint64
		if crcs != nil {
			crc = crcs[i]
		}
		s = binary.AppendUvarint(s, crc)
	}
	s = binary.AppendUvarint(s, uint64(len(cmds)))
	s = append(s, cmds...)
	s = append(s, lits...)
	var out bytes.Buffer
	out.WriteString(Magic)
	w, err := flate.NewWriter(&out, flate.BestSpeed)
	require.NoError(t, err)
	_, err = w.Write(s)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return out.Bytes()
}

func TestOpenRefusesHostileArchives(t *testing.T) {
	good, err := Pack([]Image{{"a.elf", []byte("hello hello hello hello")}})
	require.NoError(t, err)
	v := func(x ...uint64) (b []byte) {
		for _, u := range x {
			b = binary.AppendUvarint(b, u)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		in   []byte
		err  string
	}{
		{"no magic", []byte("EXOPACK0...."), "no EXOPACK1 magic"},
		{"short", []byte("EXO"), "no EXOPACK1 magic"},
		{"truncated", good[:len(good)-3], "envpack: "},
		{"no images", archive(t, 0, nil, nil, nil, nil), "0 images"},
		{"too many", archive(t, MaxImages+1, nil, nil, nil, nil), "65 images"},
		{"huge", archive(t, 1, []string{"a"}, []uint64{MaxTotal + 1}, nil, nil), "more than 33554432 in all"},
		{"bad name", archive(t, 1, []string{".."}, []uint64{1}, nil, nil), `name ".." is not a file name`},
		{"twice", archive(t, 2, []string{"a", "a"}, []uint64{1, 1}, nil, nil), "appears twice"},
		{"copy before start", archive(t, 1, []string{"a"}, []uint64{8}, v(1, 2, 5), []byte("x")), "copy of 5 bytes from 5 back at byte 1"},
		{"rep with no previous", archive(t, 1, []string{"a"}, []uint64{8}, v(1, 2, 0), []byte("x")), "from 0 back"},
		{"copy past end", archive(t, 1, []string{"a"}, []uint64{4}, v(1, 5, 1), []byte("x")), "copy of 8 bytes"},
		{"literal past end", archive(t, 1, []string{"a"}, []uint64{2}, v(3, 0), []byte("xyz")), "literal run of 3 bytes"},
		{"literals short", archive(t, 1, []string{"a"}, []uint64{3}, v(3, 0), []byte("x")), "literals at byte 0"},
		{"empty command", archive(t, 1, []string{"a"}, []uint64{3}, v(0, 0), nil), "empty command"},
		{"commands left", archive(t, 1, []string{"a"}, []uint64{1}, v(1, 0, 1, 0), []byte("xy")), "left after the last image"},
		{"trailing data", archiveCRC(t, 1, []string{"a"}, []uint64{1}, []uint64{uint64(crc32.ChecksumIEEE([]byte("x")))}, v(1, 0), []byte("xy")), "data after the last image"},
		{"bad checksum", archiveCRC(t, 1, []string{"a"}, []uint64{1}, []uint64{1}, v(1, 0), []byte("x")), `image "a": checksum 0x8cdc1683, the archive says 0x00000001 (corrupt archive)`},
		{"checksum too wide", archiveCRC(t, 1, []string{"a"}, []uint64{1}, []uint64{1 << 32}, v(1, 0), []byte("x")), "is not 32 bits"},
		{"commands too long", archive(t, 1, []string{"a"}, []uint64{1}, make([]byte, 100), nil), "bytes of commands for 1 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.in)
			require.ErrorContains(t, err, tc.err)
		})
	}
}

// Open never panics on a corrupted archive, and whatever it accepts is a
// well-formed file system whose files read back in full: seeded random
// byte flips, truncations and insertions of a real archive. (A fuzz
// target would need a budget in tools/fuzzall, outside this directory.)
func TestOpenSurvivesCorruption(t *testing.T) {
	good, err := Pack([]Image{{"a.elf", program(3000, 1)}, {"b.elf", program(3000, 2)}})
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(7, 11))
	accepted := 0
	for i := 0; i < 3000; i++ {
		b := append([]byte(nil), good...)
		switch r.IntN(3) {
		case 0:
			for k := 1 + r.IntN(4); k > 0; k-- {
				b[len(Magic)+r.IntN(len(b)-len(Magic))] ^= byte(1 + r.IntN(255))
			}
		case 1:
			b = b[:r.IntN(len(b))]
		case 2:
			at := r.IntN(len(b))
			b = append(b[:at], append([]byte{byte(r.Uint32())}, b[at:]...)...)
		}
		fsys, err := Open(b)
		if err != nil {
			continue
		}
		accepted++
		entries, err := fs.ReadDir(fsys, ".")
		require.NoError(t, err)
		for _, e := range entries {
			_, err := fs.ReadFile(fsys, e.Name())
			require.NoError(t, err)
		}
	}
	t.Logf("%d of 3000 corrupted archives still opened", accepted)
}
