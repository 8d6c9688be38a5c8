package libos

// lineBuffer collects console output until a line is complete, so that
// each line reaches the kernel in one system call and lines from different
// environments do not interleave mid-line. A line longer than the buffer is
// sent in pieces rather than cut.
type lineBuffer struct {
	buf   [512]byte
	n     int
	flush func([]byte)
}

func (l *lineBuffer) put(c byte) {
	l.buf[l.n] = c
	l.n++
	if c == '\n' || l.n == len(l.buf) {
		l.Flush()
	}
}

// Flush sends what is buffered.
func (l *lineBuffer) Flush() {
	if l.n > 0 {
		l.flush(l.buf[:l.n])
		l.n = 0
	}
}
