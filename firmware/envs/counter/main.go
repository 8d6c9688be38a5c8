//go:build tamago

// Command counter counts in a tight loop that never yields and prints its
// progress: two counters side by side show the kernel preempting them.
package main

import (
	"fmt"

	"github.com/exo-os/exo/libos"
	"github.com/exo-os/exo/libos/sys"
)

func main() {
	name := libos.Arg()
	hz := libos.Startup().TimebaseHz
	start := sys.Time()
	n := 0
	for line := 1; line <= 8; line++ {
		for i := 0; i < 10_000_000; i++ {
			n++
		}
		fmt.Printf("counter %s: %d million at %d ms\n", name, n/1_000_000, (sys.Time()-start)*1000/hz)
	}
}
