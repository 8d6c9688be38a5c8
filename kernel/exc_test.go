package kernel

import (
	"encoding/binary"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/exo-os/exo/kernel/abi"
	"github.com/exo-os/exo/kernel/hart"
	"github.com/exo-os/exo/riscv"
)

// Where the harness image has what an exception handler needs: its text
// page (r-x), its read-only data page, and a heap page of RAM (rw-).
const (
	excEntry = abi.TextStart + 0x40
	excSave  = abi.RAMStart + 0x100000
	excRO    = abi.TextStart + 0x1000
)

// except takes an exception that the kernel is expected to deliver: the
// program goes on, as the hart would, at whatever pc the kernel set.
func (u *uenv) except(cause, tval uint64) {
	u.ctx.Cause, u.ctx.Tval = cause, tval
	u.trap()
}

// frameAt reads the exception frame at va through the page table.
func (u *uenv) frameAt(va uint64) abi.ExceptionFrame {
	var f abi.ExceptionFrame
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&f)), abi.ExceptionFrameSize), u.load(va, abi.ExceptionFrameSize))
	return f
}

// putFrame writes f at va through the page table.
func (u *uenv) putFrame(va uint64, f abi.ExceptionFrame) {
	u.store(va, unsafe.Slice((*byte)(unsafe.Pointer(&f)), abi.ExceptionFrameSize))
}

// excBoot runs prog as env 2 beside a bystander that must finish, and
// returns the console.
func excBoot(t *testing.T, prog program) (*harness, string) {
	t.Helper()
	steps := 0
	h := newHarness(t, map[string]program{
		"bystander": func(u *uenv) {
			for i := 0; i < 3; i++ {
				u.spin(100_000)
				steps++
			}
			u.ecall(abi.SysExit, 0)
		},
		"env": prog,
	}, "exo-manifest v1\nenv bystander mem=2M\nenv env mem=2M\n")
	require.Equal(t, uint32(0), h.run(), "the bystander's status")
	require.Equal(t, 3, steps, "the bystander ran to its end")
	return h, h.console()
}

// Every bad registration is refused with its own error and changes
// nothing: an exception afterwards still goes to the handler registered
// before.
func TestExcHandlerRefusals(t *testing.T) {
	for _, tc := range []struct {
		name        string
		entry, save uint64
		errno       uint64
		val         uint64
	}{
		{"entry misaligned", excEntry + 1, excSave, abi.ErrInval, 0},
		{"save area misaligned", excEntry, excSave + 4, abi.ErrInval, 0},
		{"entry unmapped", 0xdead0000, excSave, abi.ErrFault, 0xdead0000},
		{"entry in the kernel's memory", 0x80000000, excSave, abi.ErrFault, 0x80000000},
		{"entry above the user half", 1 << 38, excSave, abi.ErrFault, 1 << 38},
		{"entry in the kernel half", 0xffffffc000000000, excSave, abi.ErrFault, 0xffffffc000000000},
		{"entry not executable (data)", excSave, excSave + 512, abi.ErrFault, excSave},
		{"entry not executable (start-up block)", abi.StartupVA, excSave, abi.ErrFault, abi.StartupVA},
		{"save area in text", excEntry, abi.TextStart + 0x100, abi.ErrFault, abi.TextStart + 0x100},
		{"save area read-only", excEntry, excRO, abi.ErrFault, excRO},
		{"save area in the start-up block", excEntry, abi.StartupVA, abi.ErrFault, abi.StartupVA},
		{"save area unmapped", excEntry, 0xdead0000, abi.ErrFault, 0xdead0000},
		{"save area past the end of RAM", excEntry, abi.RAMStart + 2<<20 - 160, abi.ErrFault, abi.RAMStart + 2<<20 - 160},
		{"save area wraps", excEntry, ^uint64(0) - 7, abi.ErrFault, ^uint64(0) - 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pc uint64
			h, out := excBoot(t, func(u *uenv) {
				val, errno := u.ecall(abi.SysExcHandler, excEntry, excSave)
				require.Equal(t, [2]uint64{0, abi.OK}, [2]uint64{val, errno})
				val, errno = u.ecall(abi.SysExcHandler, tc.entry, tc.save)
				require.Equal(t, abi.ErrorName(tc.errno), abi.ErrorName(errno))
				require.Equal(t, tc.val, val)
				u.except(riscv.CauseLoadPageFault, 0xbad0)
				pc = u.ctx.PC
				require.Equal(t, uint64(excSave), u.ctx.X[hart.RegA0])
				u.ecall(abi.SysExit, 7)
			})
			require.Equal(t, uint64(excEntry), pc, "the first handler got the exception")
			require.Contains(t, out, "exo: env 2 (env) exited with status 7")
			require.NotContains(t, out, "killed")
			_ = h
		})
	}
}

// Delivery writes cause, tval, pc and every integer register into the
// save area, enters the handler with a0 = the save area and the other
// registers as they were; the resume call loads the registers and pc the
// handler chose, and the next exception is delivered again.
func TestExcDeliveryAndResume(t *testing.T) {
	var e *Env
	h, out := excBoot(t, func(u *uenv) {
		e = u.h.envByCtx(u.ctx)
		val, errno := u.ecall(abi.SysExcHandler, excEntry, excSave)
		require.Equal(t, [2]uint64{0, abi.OK}, [2]uint64{val, errno})
		var regs [32]uint64
		for i := 1; i < 32; i++ {
			u.ctx.X[i] = 0x1000*uint64(i) + 7
			regs[i] = u.ctx.X[i]
		}
		faultPC := uint64(abi.TextStart + 0x10)
		u.ctx.PC = faultPC
		u.except(riscv.CauseStorePageFault, 0x123458)

		require.Equal(t, uint64(excEntry), u.ctx.PC)
		require.Equal(t, uint64(excSave), u.ctx.X[hart.RegA0])
		for i := 1; i < 32; i++ {
			if i != hart.RegA0 {
				require.Equal(t, regs[i], u.ctx.X[i], "x%d untouched", i)
			}
		}
		f := u.frameAt(excSave)
		require.Equal(t, uint64(riscv.CauseStorePageFault), f.Cause)
		require.Equal(t, uint64(0x123458), f.Tval)
		require.Equal(t, faultPC, f.PC)
		require.Equal(t, regs, f.X, "x0 as 0, x1..x31 as they were")
		require.Equal(t, [5]uint64{}, f.Reserved)

		// The handler skips the instruction and changes two registers.
		f.PC += 4
		f.X[5], f.X[hart.RegA0], f.X[hart.RegA1] = 0x5555, 0xa0a0, 0xa1a1
		f.X[0] = 0xdead // never loaded
		f.Cause, f.Tval = 99, 99
		u.putFrame(excSave, f)
		u.ctx.PC = excEntry + 8
		a0, a1 := u.ecall(abi.SysExcResume, excSave)
		require.Equal(t, [2]uint64{0xa0a0, 0xa1a1}, [2]uint64{a0, a1}, "a0 and a1 are the frame's, not a call's result")
		require.Equal(t, faultPC+4, u.ctx.PC)
		require.Equal(t, uint64(0x5555), u.ctx.X[5])
		require.Equal(t, uint64(0), u.ctx.X[0])
		require.Equal(t, regs[hart.RegSP], u.ctx.X[hart.RegSP])

		// Out of the handler: the next exception is delivered too (an
		// illegal instruction the kernel does not emulate, a breakpoint).
		u.except(riscv.CauseIllegalInsn, 0x30200073)
		require.Equal(t, uint64(excEntry), u.ctx.PC)
		require.Equal(t, uint64(0x30200073), u.frameAt(excSave).Tval)
		u.ecall(abi.SysExcResume, excSave)
		u.except(riscv.CauseBreakpoint, faultPC+4)
		require.Equal(t, uint64(riscv.CauseBreakpoint), u.frameAt(excSave).Cause)
		u.ecall(abi.SysExcResume, excSave)
		u.ecall(abi.SysExit, 0)
	})
	require.Contains(t, out, "exo: env 2 (env) exited with status 0")
	require.NotContains(t, out, "killed")
	require.Equal(t, uint64(3), e.Exceptions)
	_ = h
}

// The time read the kernel emulates stays silent with a handler
// registered: it is completed, not delivered.
func TestExcEmulatedTimeNotDelivered(t *testing.T) {
	_, out := excBoot(t, func(u *uenv) {
		u.ecall(abi.SysExcHandler, excEntry, excSave)
		pc := uint64(abi.TextStart + 0x20)
		u.ctx.PC = pc
		u.except(riscv.CauseIllegalInsn, 0xc01027f3) // rdtime a5
		require.Equal(t, pc+4, u.ctx.PC)
		u.ecall(abi.SysExit, 0)
	})
	require.NotContains(t, out, "killed")
}

// What ends an environment with a handler: an exception while in its
// handler, a save area it unmapped, a handler it unregistered. Each is
// one report line, as without a handler; the bystander goes on.
func TestExcKills(t *testing.T) {
	for _, tc := range []struct {
		name string
		prog program
		want string
	}{
		{"nested fault", func(u *uenv) {
			u.ecall(abi.SysExcHandler, excEntry, excSave)
			u.except(riscv.CauseLoadPageFault, 0xbad0)
			u.ctx.PC = excEntry + 4
			u.fault(riscv.CauseLoadPageFault, 0xbad8)
		}, "load page fault at pc 0x1010044, address 0xbad8 (in its exception handler)\n"},
		{"nested after a refused resume", func(u *uenv) {
			u.ecall(abi.SysExcHandler, excEntry, excSave)
			u.except(riscv.CauseLoadPageFault, 0xbad0)
			_, errno := u.ecall(abi.SysExcResume, excSave+1)
			require.Equal(t, uint64(abi.ErrInval), errno)
			u.fault(riscv.CauseIllegalInsn, 0x30200073)
		}, "(instruction 0x30200073) (in its exception handler)\n"},
		{"save area unmapped", func(u *uenv) {
			u.ecall(abi.SysExcHandler, excEntry, excSave)
			_, errno := u.ecall(abi.SysUnmap, excSave)
			require.Equal(t, uint64(abi.OK), errno)
			u.fault(riscv.CauseLoadPageFault, 0xbad0)
		}, "address 0xbad0 (its exception save area is not writable)\n"},
		{"unregistered", func(u *uenv) {
			u.ecall(abi.SysExcHandler, excEntry, excSave)
			val, errno := u.ecall(abi.SysExcHandler, 0, 0xdead0001)
			require.Equal(t, [2]uint64{0, abi.OK}, [2]uint64{val, errno})
			u.fault(riscv.CauseLoadPageFault, 0xbad0)
		}, "address 0xbad0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, out := excBoot(t, tc.prog)
			require.Contains(t, out, "exo: env 2 (env) killed: ")
			line := out[strings.Index(out, "exo: env 2 (env) killed: "):]
			line = line[:strings.IndexByte(line, '\n')+1]
			require.True(t, strings.HasSuffix(line, tc.want), "report %q", line)
			require.Equal(t, 1, strings.Count(out, "killed"))
			require.True(t, h.gone(2))
		})
	}
}

// The resume call refuses a frame it cannot read and a pc that is not a
// user address, and changes nothing else: the environment is still in its
// handler, its registers as they were but for a0 and a1.
func TestExcResumeRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame uint64
		pc    uint64
		errno uint64
	}{
		{"kernel-half pc", excSave, 0xffffffff80000000, abi.ErrInval},
		{"pc at the user top", excSave, 1 << 38, abi.ErrInval},
		{"pc odd", excSave, abi.TextStart + 1, abi.ErrInval},
		{"frame misaligned", excSave + 4, abi.TextStart, abi.ErrInval},
		{"frame unmapped", 0xdead0000, abi.TextStart, abi.ErrFault},
		{"frame past the end of RAM", abi.RAMStart + 2<<20 - 160, abi.TextStart, abi.ErrFault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out := excBoot(t, func(u *uenv) {
				u.ecall(abi.SysExcHandler, excEntry, excSave)
				u.except(riscv.CauseLoadPageFault, 0xbad0)
				f := u.frameAt(excSave)
				f.PC = tc.pc
				u.putFrame(excSave, f)
				sp := u.ctx.X[hart.RegSP]
				_, errno := u.ecall(abi.SysExcResume, tc.frame)
				require.Equal(t, abi.ErrorName(tc.errno), abi.ErrorName(errno))
				require.Equal(t, uint64(excEntry+4), u.ctx.PC, "after the call")
				require.Equal(t, sp, u.ctx.X[hart.RegSP])
				u.fault(riscv.CauseLoadPageFault, 0xbad8)
			})
			require.Contains(t, out, "address 0xbad8 (in its exception handler)\n")
		})
	}
}

// A frame is little-endian u64s at the documented offsets (what libos's
// assembly reads).
func TestExcFrameBytes(t *testing.T) {
	_, out := excBoot(t, func(u *uenv) {
		u.ecall(abi.SysExcHandler, excEntry, excSave)
		u.ctx.X[31] = 0x3131
		u.ctx.PC = abi.TextStart + 0x30
		u.except(riscv.CauseMisalignedLoad, 0x1001)
		b := u.load(excSave, abi.ExceptionFrameSize)
		require.Equal(t, uint64(riscv.CauseMisalignedLoad), binary.LittleEndian.Uint64(b[abi.ExcFrameCause:]))
		require.Equal(t, uint64(0x1001), binary.LittleEndian.Uint64(b[abi.ExcFrameTval:]))
		require.Equal(t, uint64(abi.TextStart+0x30), binary.LittleEndian.Uint64(b[abi.ExcFramePC:]))
		require.Equal(t, uint64(0x3131), binary.LittleEndian.Uint64(b[abi.ExcFrameX+8*31:]))
		u.ecall(abi.SysExit, 0)
	})
	require.NotContains(t, out, "killed")
}
