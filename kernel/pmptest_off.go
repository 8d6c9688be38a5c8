//go:build !exo_pmptest

package kernel

// pmpTest is true only in the PMP test build (pmptest_on.go).
const pmpTest = false
