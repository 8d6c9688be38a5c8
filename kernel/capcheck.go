//go:build !exo_unchecked_caps

package kernel

// checkCaps is true in every kernel but the measurement build (tag
// exo_unchecked_caps, `make bench`), which skips capability verification
// on the binding calls so that a checked binding can be measured next to
// an unchecked one. That build announces itself at boot.
const checkCaps = true
