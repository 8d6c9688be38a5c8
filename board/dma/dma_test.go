package dma

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

const start = 0x84000000

// pageView returns n bytes of host memory starting on a page boundary, as
// the DMA region's view is on the board.
func pageView(n int) []byte {
	b := make([]byte, n+MaxAlign)
	off := (MaxAlign - uintptr(unsafe.Pointer(&b[0]))%MaxAlign) % MaxAlign
	return b[off : off+uintptr(n)]
}

func TestNew(t *testing.T) {
	v := pageView(2 * MaxAlign)
	for _, tc := range []struct {
		name       string
		start, end uint64
		view       []byte
		err        string
	}{
		{"whole", start, start + 2*MaxAlign, v, ""},
		{"empty", start, start, v[:0], "region [0x84000000, 0x84000000) is empty"},
		{"reversed", start + 1, start, v, "is empty"},
		{"short view", start, start + 2*MaxAlign, v[:100], "is 8192 bytes, its view 100"},
		{"offset view", start, start + MaxAlign, v[16 : 16+MaxAlign], "not at the same offset"},
		{"offset both", start + 16, start + MaxAlign, v[16:MaxAlign], ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.start, tc.end, tc.view)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, len(tc.view), a.Remaining())
		})
	}
}

func TestAlloc(t *testing.T) {
	type req struct {
		n, align int
		pa       uint64 // expected; 0 with err
		err      string
	}
	for _, tc := range []struct {
		name string
		size int
		reqs []req
	}{
		{"consecutive", 4096, []req{{10, 1, start, ""}, {6, 1, start + 10, ""}, {4080, 1, start + 16, ""}}},
		{"aligned", 8192, []req{{1, 1, start, ""}, {16, 16, start + 16, ""}, {100, 64, start + 64, ""}, {1, 4096, start + 4096, ""}, {1, 2, start + 4098, ""}}},
		{"exact fit", 4096, []req{{4096, 4096, start, ""}}},
		{"too big", 4096, []req{{4097, 1, 0, "4097 bytes aligned to 1 do not fit in region [0x84000000, 0x84001000): 4096 of 4096 bytes left"}}},
		{"padding does not fit", 4096, []req{{1, 1, start, ""}, {4095, 16, 0, "4095 bytes aligned to 16 do not fit"}, {4095, 1, start + 1, ""}}},
		{"full", 4096, []req{{4096, 1, start, ""}, {1, 1, 0, "0 of 4096 bytes left"}}},
		{"alignment past the end", 4096, []req{{1, 1, start, ""}, {1, 4096, 0, "1 bytes aligned to 4096 do not fit"}}},
		{"zero bytes", 4096, []req{{0, 1, 0, "allocation of 0 bytes"}}},
		{"negative", 4096, []req{{-1, 1, 0, "allocation of -1 bytes"}}},
		{"odd alignment", 4096, []req{{8, 3, 0, "alignment 3 is not a power of two up to 4096"}}},
		{"zero alignment", 4096, []req{{8, 0, 0, "alignment 0"}}},
		{"huge alignment", 4096, []req{{8, 8192, 0, "alignment 8192"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			view := pageView(tc.size)
			for i := range view {
				view[i] = 0xa5 // what a board's RAM may hold at boot
			}
			a, err := New(start, start+uint64(tc.size), view)
			require.NoError(t, err)
			for i, r := range tc.reqs {
				left := a.Remaining()
				mem, pa, err := a.Alloc(r.n, r.align)
				if r.err != "" {
					require.ErrorContains(t, err, r.err, "request %d", i)
					require.Nil(t, mem)
					require.Equal(t, left, a.Remaining(), "a failed request takes nothing")
					continue
				}
				require.NoError(t, err, "request %d", i)
				require.Equal(t, r.pa, pa, "request %d", i)
				require.Len(t, mem, r.n)
				require.Equal(t, r.n, cap(mem), "the block's capacity ends with it")
				require.Equal(t, &view[pa-start], &mem[0], "the view of pa")
				require.Zero(t, uintptr(unsafe.Pointer(&mem[0]))%uintptr(r.align), "aligned in the view too")
				require.Equal(t, make([]byte, r.n), mem, "zeroed")
			}
		})
	}
}
