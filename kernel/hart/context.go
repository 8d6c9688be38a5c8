package hart

// Context is the saved state of an environment's hart, and the kernel's
// state while the environment runs. The trap path in trap_riscv64.s reads and
// writes it by field offset (go_asm.h), so fields may be reordered freely but
// their types must stay 64-bit.
type Context struct {
	// X holds the integer registers x0..x31; X[0] is never read.
	X [32]uint64
	// PC is where the environment resumes (mepc).
	PC uint64
	// Cause and Tval describe the trap that last left the environment
	// (mcause, mtval).
	Cause uint64
	Tval  uint64

	// F and FCSR hold the floating-point state, valid when FPValid is set.
	F       [32]uint64
	FCSR    uint64
	FPValid bool

	// The kernel's registers while the environment runs: return address,
	// stack, global and thread pointers, and the goroutine.
	kra, ksp, kgp, ktp, kg uint64
}

// Register numbers of the ABI names the kernel uses.
const (
	RegRA = 1
	RegSP = 2
	RegA0 = 10
	RegA1 = 11
	RegA2 = 12
	RegA3 = 13
	RegA4 = 14
	RegA5 = 15
	RegA6 = 16
	RegA7 = 17
)
