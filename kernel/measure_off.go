//go:build !exo_calltime

package kernel

// measureCalls is true only in the call-timing build (exo_calltime,
// measure_on.go).
const measureCalls = false
