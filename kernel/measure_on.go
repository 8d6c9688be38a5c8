//go:build exo_calltime

package kernel

// measureCalls makes the call-timing build (make bench: tag exo_calltime)
// time every system call in the kernel, where it runs with interrupts
// masked, and report the longest of each at the end (docs/ABI.md, "Time
// with interrupts masked"). The clock reads cost every call about 100
// instructions, so no other build has them.
const measureCalls = true
