package libos

import (
	"github.com/exo-os/exo/caps"
	"github.com/exo-os/exo/kernel/abi"
)

// physPage finds the page backing va in the start-up block's runs.
func physPage(s *abi.Startup, va uint64) (uint64, bool) {
	for _, r := range s.Runs[:min(s.NumRuns, abi.MaxRuns)] {
		if va >= r.VA && va-r.VA < r.Pages*abi.PageSize {
			return (r.PA + va - r.VA) / abi.PageSize, true
		}
	}
	return 0, false
}

// findCap returns the first capability in list of kind k whose effective
// range holds name.
func findCap(list []caps.Cap, k caps.Kind, name uint64) (caps.Cap, bool) {
	for _, c := range list {
		if c.Kind() != k {
			continue
		}
		if _, lo, hi, ok := c.Effective(); ok && name >= lo && name <= hi {
			return c, true
		}
	}
	return caps.Cap{}, false
}
