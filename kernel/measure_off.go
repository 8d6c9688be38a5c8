//go:build !exo_floor

package kernel

// measureCalls is true only in the measurement build (exo_floor,
// measure_on.go).
const measureCalls = false
