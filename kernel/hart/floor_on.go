//go:build exo_floor

package hart

// FloorFastPath reports whether this build's trap vector answers the floor
// call in assembly (build tag exo_floor, make bench).
const FloorFastPath = true
