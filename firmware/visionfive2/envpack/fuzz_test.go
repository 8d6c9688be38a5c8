package envpack

import (
	"bytes"
	"io"
	"io/fs"
	"testing"
)

// FuzzOpen: Open never panics on any archive, and what it accepts is
// bounded by MaxTotal and MaxImages and reads back whole. Seeds are real
// archives, which the fuzzer mutates.
func FuzzOpen(f *testing.F) {
	for _, imgs := range [][]Image{
		{{Name: "a.elf", Data: []byte("hello, hello, hello, environment")}},
		{{Name: "a.elf", Data: bytes.Repeat([]byte("exo"), 500)}, {Name: "b.elf", Data: bytes.Repeat([]byte("exo!"), 400)}},
	} {
		b, err := Pack(imgs)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, archive []byte) {
		fsys, err := Open(archive)
		if err != nil {
			return
		}
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			t.Fatalf("an opened archive's root: %v", err)
		}
		if len(entries) > MaxImages {
			t.Fatalf("%d images, more than %d", len(entries), MaxImages)
		}
		total := 0
		for _, e := range entries {
			fl, err := fsys.Open(e.Name())
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			b, err := io.ReadAll(fl)
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			total += len(b)
		}
		if total > MaxTotal {
			t.Fatalf("%d bytes in all, more than %d", total, MaxTotal)
		}
	})
}
