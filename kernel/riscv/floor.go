package riscv

// FloorSyscall is the system call number that trapEntry answers in
// assembly without saving state: the floor of every trap measurement. It
// equals abi.SysFloor (checked by this package's tests).
const FloorSyscall = 0x7ff
