// Package ipc is the ExOS interprocess communication of Engler et al.
// (SOSP'95 §7, the IPC table: pipe, pipe', shm, lrpc) on Exo: everything
// but the transfer of control is library code over pages the environments
// share by capability (docs/ABI.md, "Protected control transfers").
//
//   - Ring is a single-producer, single-consumer byte ring in one shared
//     page; Pipe is a blocking byte stream over it (the table's pipe), and
//     its PutWord and GetWord are the same ring specialised to one word
//     with no copy loop (pipe').
//   - Word is a shared word two environments ping-pong through (shm).
//   - Serve and Client are a lightweight RPC on the kernel's synchronous
//     protected control transfer (lrpc): the caller's registers carry the
//     arguments and results, and the server's code runs on the caller's
//     time, in an assembly entry point that increments a counter in the
//     server's memory.
//
// Waiting is the caller's policy: a Wait function (sys.Yield, or a
// directed transfer) runs whenever an operation cannot go on. Nothing here
// allocates per operation or takes a lock.
package ipc

import (
	"errors"
	"sync/atomic"
	"unsafe"
)

// The layout of a ring's page: the writer's count and the reader's count
// of bytes, each in its own cache line, then the data.
const (
	PageSize   = 4096
	offWritten = 0
	offRead    = 64
	offData    = 2048
	// RingSize is the bytes a ring holds.
	RingSize = PageSize - offData
)

// ErrPage: the memory given for a ring is not a whole, 8-byte-aligned
// page.
var ErrPage = errors.New("ipc: a ring needs a whole 8-byte-aligned page")

// Ring is a single-producer, single-consumer byte ring in one page that
// two environments map. The writer only stores the written count, the
// reader only the read count; both only grow, and their difference is
// what the ring holds. A count the other side corrupted cannot make either
// side index outside the page: every index is taken modulo RingSize and
// every length is clamped.
type Ring struct {
	written, read *atomic.Uint64
	data          *[RingSize]byte
}

// NewRing returns the ring in page (PageSize bytes, 8-byte aligned). The
// counts are not reset: the two sides attach to the same state; the
// page's creator clears it first.
func NewRing(page []byte) (*Ring, error) {
	if len(page) < PageSize || uintptr(unsafe.Pointer(&page[0]))%8 != 0 {
		return nil, ErrPage
	}
	return &Ring{
		written: (*atomic.Uint64)(unsafe.Pointer(&page[offWritten])),
		read:    (*atomic.Uint64)(unsafe.Pointer(&page[offRead])),
		data:    (*[RingSize]byte)(page[offData:PageSize]),
	}, nil
}

// held returns how many bytes the ring holds, clamped to [0, RingSize].
func (r *Ring) held() uint64 {
	n := r.written.Load() - r.read.Load()
	return min(n, RingSize)
}

// Len returns how many bytes the ring holds.
func (r *Ring) Len() int { return int(r.held()) }

// Write copies as much of p as fits and returns how many bytes it took.
func (r *Ring) Write(p []byte) int {
	w := r.written.Load()
	room := RingSize - r.held()
	n := min(uint64(len(p)), room)
	at := w % RingSize
	c := copy(r.data[at:], p[:n])
	copy(r.data[:], p[c:n])
	r.written.Store(w + n)
	return int(n)
}

// Read copies up to len(p) bytes out and returns how many.
func (r *Ring) Read(p []byte) int {
	rd := r.read.Load()
	n := min(uint64(len(p)), r.held())
	at := rd % RingSize
	c := copy(p[:n], r.data[at:])
	copy(p[c:n], r.data[:])
	r.read.Store(rd + n)
	return int(n)
}

// PutWord stores v if there is room for a word, for a ring used only for
// words (every count a multiple of 8), and reports whether it did.
func (r *Ring) PutWord(v uint64) bool {
	w := r.written.Load()
	if w-r.read.Load() > RingSize-8 {
		return false
	}
	*(*uint64)(unsafe.Pointer(&r.data[w%RingSize&^7])) = v
	r.written.Store(w + 8)
	return true
}

// GetWord takes a word if the ring holds one (see PutWord).
func (r *Ring) GetWord() (uint64, bool) {
	rd := r.read.Load()
	if r.written.Load()-rd < 8 {
		return 0, false
	}
	v := *(*uint64)(unsafe.Pointer(&r.data[rd%RingSize&^7]))
	r.read.Store(rd + 8)
	return v, true
}

// Pipe is a blocking byte stream over a Ring: Wait runs whenever the ring
// is full (Write) or empty (Read).
type Pipe struct {
	*Ring
	Wait func()
}

// WriteAll writes all of p, waiting while the ring is full.
func (p Pipe) WriteAll(b []byte) {
	for len(b) > 0 {
		n := p.Write(b)
		b = b[n:]
		if len(b) > 0 {
			p.Wait()
		}
	}
}

// ReadFull fills b, waiting while the ring is empty.
func (p Pipe) ReadFull(b []byte) {
	for len(b) > 0 {
		n := p.Read(b)
		b = b[n:]
		if len(b) > 0 {
			p.Wait()
		}
	}
}

// Send writes the word v (pipe'), waiting while the ring is full.
func (p Pipe) Send(v uint64) {
	for !p.PutWord(v) {
		p.Wait()
	}
}

// Receive reads a word (pipe'), waiting while the ring is empty.
func (p Pipe) Receive() uint64 {
	for {
		if v, ok := p.GetWord(); ok {
			return v
		}
		p.Wait()
	}
}

// Word is a shared word (shm): one side stores, the other waits for it.
type Word struct {
	w    *atomic.Uint64
	Wait func()
}

// NewWord returns the word at the 8-byte-aligned b[0:8].
func NewWord(b []byte, wait func()) (Word, error) {
	if len(b) < 8 || uintptr(unsafe.Pointer(&b[0]))%8 != 0 {
		return Word{}, errors.New("ipc: a word needs 8 aligned bytes")
	}
	return Word{w: (*atomic.Uint64)(unsafe.Pointer(&b[0])), Wait: wait}, nil
}

// Store sets the word.
func (w Word) Store(v uint64) { w.w.Store(v) }

// Load reads the word.
func (w Word) Load() uint64 { return w.w.Load() }

// AwaitNot waits until the word is not old and returns it.
func (w Word) AwaitNot(old uint64) uint64 {
	for {
		if v := w.w.Load(); v != old {
			return v
		}
		w.Wait()
	}
}
