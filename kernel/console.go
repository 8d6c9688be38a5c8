package kernel

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/exo-os/exo/kernel/abi"
)

// The console interleaves the kernel's messages and every environment's
// output in one buffer that the serial line drains as fast as it takes
// bytes (on its transmit interrupt), so that no call waits for the line
// with interrupts masked: at the VisionFive 2's 115200 baud a 4 KiB write
// takes 0.36 s to send.
//
// Each environment line is prefixed with "[id name] ", a line left open by
// one writer is ended before another writer starts, and an environment's
// control bytes are shown, not obeyed ("\x1b", "\r"), so every console
// line has one author and only the kernel writes lines that begin
// "exo: ". Bytes that are not UTF-8, the C1 control characters
// U+0080..U+009F, the line and paragraph separators U+2028 and U+2029 and
// the bidi controls (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) are
// shown the same way; the rest of UTF-8 passes.
//
// When the buffer is full, an environment's write waits inside the call
// (its ecall runs again when there is room) and a short one returns the
// count taken. The kernel's own messages have a reserve of their own; if
// even that is full, they are counted and the count is reported when
// there is room.

const (
	consoleSize = 16 << 10
	// kernelReserve is the part of the buffer only kernel messages use.
	kernelReserve = 2 << 10
	// consoleRoom is the room a waiting writer waits for.
	consoleRoom = 256
)

type console struct {
	serial     Serial
	head, tail uint64 // bytes put in, bytes sent, since boot
	open       *Env   // the environment whose line is unfinished
	kopen      bool   // a kernel line is unfinished
	dropped    uint64 // bytes of kernel messages that did not fit
	buf        [consoleSize]byte
}

func (c *console) free() int { return consoleSize - int(c.head-c.tail) }

func (c *console) put(p []byte) {
	for len(p) > 0 {
		i := c.head % consoleSize
		n := copy(c.buf[i:], p)
		c.head += uint64(n)
		p = p[n:]
	}
}

// drain gives the serial line as much of the buffer as it takes.
func (c *console) drain() {
	for c.tail < c.head {
		i := c.tail % consoleSize
		end := min(uint64(consoleSize), i+(c.head-c.tail))
		n := c.serial.Send(c.buf[i:end])
		c.tail += uint64(n)
		if n < int(end-i) {
			return
		}
	}
}

// flush drains the whole buffer, waiting for the line: only when no
// environment is left to run.
func (c *console) flush() {
	for c.drain(); c.tail < c.head; c.drain() {
	}
}

var newline = []byte("\n")

// Write writes a kernel message (printf's output), starting it on a line
// of its own.
func (c *console) Write(p []byte) (int, error) {
	if c.open != nil {
		if c.free() < 1 {
			c.dropped += uint64(len(p))
			return len(p), nil
		}
		c.put(newline)
		c.open = nil
	}
	if c.dropped > 0 && c.free() >= 64+len(p) {
		n := c.dropped
		c.dropped = 0
		c.put([]byte("exo: " + strconv.FormatUint(n, 10) + " bytes of kernel messages were dropped (console full)\n"))
	}
	if c.free() < len(p) {
		c.dropped += uint64(len(p))
		return len(p), nil
	}
	c.put(p)
	if len(p) > 0 {
		c.kopen = p[len(p)-1] != '\n'
	}
	c.drain()
	return len(p), nil
}

// writeEnv writes as much of e's bytes p as fits outside the kernel's
// reserve, shown safely, and returns how many of p it took. Runs of plain
// bytes (printable ASCII and tabs) are copied as they are, in bulk; every
// other byte is looked at alone.
func (c *console) writeEnv(e *Env, p []byte) int {
	room := c.free() - kernelReserve
	done := 0
	var tmp [8]byte
	for done < len(p) {
		if c.open != e {
			// A new line: end another writer's, then the prefix.
			if len(e.prefix)+2 > room {
				break
			}
			if c.open != nil || c.kopen {
				c.put(newline)
				c.kopen = false
				room--
			}
			c.put(e.prefix)
			c.open = e
			room -= len(e.prefix)
		}
		j := done
		for j < len(p) && (p[j] >= 0x20 && p[j] < 0x7f || p[j] == '\t') {
			j++
		}
		if j > done {
			n := min(j-done, room)
			c.put(p[done : done+n])
			room -= n
			done += n
			if done < j {
				break // the rest of the run does not fit
			}
			continue
		}
		var out []byte
		n := 1
		switch b := p[done]; {
		case b == '\n':
			out = newline
		case b < 0x20 || b == 0x7f:
			out = hexEscape(tmp[:0], 'x', uint32(b))
		default:
			r, size := utf8.DecodeRune(p[done:])
			switch {
			case r == utf8.RuneError && size <= 1:
				out = hexEscape(tmp[:0], 'x', uint32(b))
			case r >= 0x80 && r <= 0x9f, r == 0x2028, r == 0x2029,
				r >= 0x200e && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
				// C1 controls, the line and paragraph separators
				// (line breaks to many readers), and the bidi
				// controls (which reorder what follows).
				out, n = hexEscape(tmp[:0], 'u', uint32(r)), size
			default:
				out, n = p[done:done+size], size
			}
		}
		if len(out) > room {
			break
		}
		c.put(out)
		room -= len(out)
		done += n
		if p[done-n] == '\n' {
			c.open = nil
		}
	}
	c.drain()
	return done
}

// hexEscape appends \xNN (or \uNNNN) for v.
func hexEscape(b []byte, kind byte, v uint32) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '\\', kind)
	digits := 2
	if kind == 'u' {
		digits = 4
	}
	for i := digits - 1; i >= 0; i-- {
		b = append(b, hex[v>>(4*i)&0xf])
	}
	return b
}

// printf writes a kernel message on a line of its own.
func (k *Kernel) printf(format string, args ...any) {
	fmt.Fprintf(&k.con, "exo: "+format, args...)
}

// sysWrite writes up to n bytes at user address va to the console and
// returns how many it took. The whole buffer is checked before any byte
// is written, so a bad pointer writes nothing. With no room at all the
// caller waits (the call runs again when the line has drained the
// buffer).
func sysWrite(k *Kernel, e *Env) (uint64, uint64, outcome) {
	va, n := e.ctx.X[regA0], e.ctx.X[regA1]
	if n > abi.MaxWrite {
		return 0, abi.ErrTooBig, resume
	}
	if n == 0 {
		return 0, abi.OK, resume
	}
	// One contiguous copy first, so that a UTF-8 character across a
	// page boundary of the buffer is seen whole; copyIn copies nothing
	// unless every byte is readable, so a bad buffer writes nothing.
	buf := k.writeBuf[:n]
	if !k.copyIn(e, buf, va) {
		return 0, abi.ErrFault, resume
	}
	done := uint64(k.con.writeEnv(e, buf))
	if done == 0 {
		e.state, e.wait = Waiting, waitConsole
		return 0, 0, block
	}
	return done, abi.OK, resume
}
