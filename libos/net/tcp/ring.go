package tcp

// ring is a byte ring buffer of a fixed capacity whose storage is taken
// from a pool on first use and given back when the ring is empty and the
// connection idle (idle), so that a connection that moves nothing holds
// no buffer. Bytes [0,n) from head are the queued data; the receive side
// also writes out-of-order data beyond them (writeAt) and later takes it
// in with commit.
type ring struct {
	buf  []byte
	size int
	head int
	n    int
	pool *pool
}

func (r *ring) free() int { return r.size - r.n }

func (r *ring) alloc() {
	if r.buf == nil && r.size > 0 {
		r.buf = r.pool.get(r.size)
	}
}

// idle gives the storage back to the pool; the ring must hold nothing,
// queued or out of order.
func (r *ring) idle() {
	if r.buf != nil {
		r.pool.put(r.buf)
		r.buf, r.head, r.n = nil, 0, 0
	}
}

// pool keeps buffers of rings that went idle, for the next ring that
// needs one: connections that come and go (HTTP's) then allocate
// nothing, and an idle connection holds nothing. At most poolMax are
// kept; a nil pool keeps none.
type pool struct {
	free [][]byte
}

// poolMax bounds the buffers a pool keeps.
const poolMax = 32

func (p *pool) get(size int) []byte {
	if p != nil {
		for i := len(p.free) - 1; i >= 0; i-- {
			if b := p.free[i]; len(b) == size {
				p.free[i] = p.free[len(p.free)-1]
				p.free[len(p.free)-1] = nil
				p.free = p.free[:len(p.free)-1]
				return b
			}
		}
	}
	return make([]byte, size)
}

func (p *pool) put(b []byte) {
	if p != nil && len(p.free) < poolMax {
		p.free = append(p.free, b)
	}
}

// write appends what of b fits and returns how much that was.
func (r *ring) write(b []byte) int {
	n := min(len(b), r.free())
	if n == 0 {
		return 0
	}
	r.writeAt(0, b[:n])
	r.n += n
	return n
}

// writeAt stores b at offset off past the queued data without queuing
// it; off+len(b) must not exceed free().
func (r *ring) writeAt(off int, b []byte) {
	if len(b) == 0 {
		return
	}
	r.alloc()
	i := (r.head + r.n + off) % r.size
	k := copy(r.buf[i:], b)
	copy(r.buf, b[k:])
}

// commit queues n bytes stored by writeAt at offset 0.
func (r *ring) commit(n int) { r.n += n }

// read takes up to len(b) bytes from the front.
func (r *ring) read(b []byte) int {
	n := min(len(b), r.n)
	if n == 0 {
		return 0
	}
	a, c := r.peek(0, n)
	copy(b[copy(b, a):], c)
	r.discard(n)
	return n
}

// peek returns the n bytes at offset off from the front, in one or two
// pieces (the second when they wrap).
func (r *ring) peek(off, n int) ([]byte, []byte) {
	if n == 0 {
		return nil, nil
	}
	i := (r.head + off) % r.size
	if i+n <= r.size {
		return r.buf[i : i+n], nil
	}
	return r.buf[i:], r.buf[:n-(r.size-i)]
}

// discard drops n bytes from the front.
func (r *ring) discard(n int) {
	// head is not reset when the ring empties: the receive side keeps
	// out-of-order data at fixed offsets from head+n.
	r.n -= n
	r.head = (r.head + n) % r.size
}
