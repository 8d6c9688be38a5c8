//go:build exo_floor

package kernel

// measureCalls makes the measurement build (make bench: tag exo_floor)
// time every system call in the kernel, with interrupts masked as it
// runs, and report the longest of each at the end (docs/ABI.md, "Time
// with interrupts masked"). The production kernel has no such clock reads
// on its system-call path.
const measureCalls = true
