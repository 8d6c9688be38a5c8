package hart

// FloorSyscall is the system call number that the measurement build's trap
// entry (build tag exo_floor, floor_riscv64.s) answers in assembly without
// saving any state: the floor of every trap measurement. It equals
// abi.SysFloor (checked by this package's tests). The production trap
// entry has no such check; there the number is an unknown system call.
const FloorSyscall = 0x7ff
