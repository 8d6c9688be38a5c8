package ipc

import (
	"testing"

	"github.com/exo-os/exo/ash"
)

// The ring predicates verify as the kernel verifies them (a TypePredicate
// over PredWindow bytes) and hold exactly when the reader (data) or the
// writer (room for a word) could go on.
func TestRingPredicates(t *testing.T) {
	page := newPage()
	r, err := NewRing(page)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ash.Config{Type: ash.TypePredicate, MemSize: PredWindow}
	progs := map[string]*ash.Program{}
	for name, raw := range map[string][]byte{"data": DataPredicate(), "room": RoomPredicate()} {
		insns, err := ash.Decode(raw)
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if progs[name], err = ash.Verify(insns, cfg); err != nil {
			t.Fatalf("%s: verify: %v", name, err)
		}
	}
	m := ash.NewMachine()
	counters := make([]byte, ash.DefaultCountersSize)
	eval := func(name string) bool {
		res, err := m.Run(progs[name], &ash.Input{Mem: r.Window(), Counters: counters})
		if err != nil {
			t.Fatalf("%s: run: %v", name, err)
		}
		return res.R0 != 0
	}
	buf := make([]byte, RingSize)
	for _, c := range []struct {
		name       string
		fill       int // bytes held
		data, room bool
	}{
		{"empty", 0, false, true},
		{"one byte", 1, true, true},
		{"room for exactly a word", RingSize - 8, true, true},
		{"room for less than a word", RingSize - 7, true, false},
		{"full", RingSize, true, false},
	} {
		r.Read(buf) // empty it; the counts go on growing, as in use
		if n := r.Write(buf[:c.fill]); n != c.fill {
			t.Fatalf("%s: wrote %d of %d", c.name, n, c.fill)
		}
		if got := eval("data"); got != c.data {
			t.Errorf("%s: data predicate %v, want %v", c.name, got, c.data)
		}
		if got := eval("room"); got != c.room {
			t.Errorf("%s: room predicate %v, want %v", c.name, got, c.room)
		}
	}
	if len(r.Window()) != PredWindow || &r.Window()[0] != &page[0] {
		t.Errorf("window: %d bytes at the wrong place", len(r.Window()))
	}
}
