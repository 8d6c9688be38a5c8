//go:build exo_unchecked_caps

package kernel

// checkCaps is false in the measurement build: binding calls accept any
// capability. Never boot it for anything but measuring. See capcheck.go.
const checkCaps = false
