package kernel

import "fmt"

// The console interleaves the kernel's messages and every environment's
// output. Each environment line is prefixed with "[id name] ", and a line
// left open by one writer is ended before another writer starts, so every
// console line has a single author.

// consoleWrite writes p for e.
func (k *Kernel) consoleWrite(e *Env, p []byte) {
	for len(p) > 0 {
		if k.open != e {
			if k.open != nil {
				k.console.Write(newline)
			}
			k.console.Write(e.prefix)
			k.open = e
		}
		i := 0
		for i < len(p) && p[i] != '\n' {
			i++
		}
		if i < len(p) {
			i++ // include the newline
			k.open = nil
		}
		k.console.Write(p[:i])
		p = p[i:]
	}
}

var newline = []byte("\n")

// printf writes a kernel message on a line of its own.
func (k *Kernel) printf(format string, args ...any) {
	if k.open != nil {
		k.console.Write(newline)
		k.open = nil
	}
	fmt.Fprintf(k.console, "exo: "+format, args...)
}
