package board

// SplitMix64 is the generator the boards' runtime hooks use for the Go
// runtime's own start-up randomness (its hash seeds) until the board's
// entropy source is up. It is not an entropy source and nothing secret
// comes from it: the kernel draws the capability key from the board's RNG
// and refuses to boot without one. Steele, Lea and Flood, "Fast splittable
// pseudorandom number generators", OOPSLA 2014.
type SplitMix64 struct {
	// State is the generator's state: seed it once, with whatever varies
	// between boots (cycle and time counters).
	State uint64
}

// Read fills b with the low byte of successive outputs.
func (s *SplitMix64) Read(b []byte) {
	for i := range b {
		s.State += 0x9e3779b97f4a7c15
		z := s.State
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		b[i] = byte(z ^ z>>31)
	}
}
