// Package fit turns a kernel ELF into what U-Boot SPL boots: a flat
// payload to copy to a load address (Flatten), and the image tree source
// from which mkimage makes a FIT image (ITS). The VisionFive 2 image tool
// (tools/vf2image) and the tests that boot the same entry code on QEMU's
// sifive_u use it.
package fit

import (
	"debug/elf"
	"fmt"
	"sort"
	"strings"
)

// Payload is a kernel ELF laid out as the memory image U-Boot SPL copies
// to its load address: every loadable segment at its offset from the
// lowest one, zeros in the gaps and for .bss (so that nothing has to clear
// memory before the Go runtime starts, and so that the device tree SPL
// places right after the payload cannot land inside .bss).
type Payload struct {
	// Load is the address of the first byte, Entry the ELF entry.
	Load, Entry uint64
	Data        []byte
}

// MaxSpan bounds the memory image, a guard against a mislinked ELF
// producing a huge file.
const MaxSpan = 64 << 20

// Flatten builds the payload of a RISC-V 64 executable. Segments must be
// identity-mapped (physical = virtual address), must not overlap, and the
// entry must lie in an executable one. The length is rounded up to 8 bytes
// so that the device tree SPL appends is 8-byte aligned.
func Flatten(f *elf.File) (*Payload, error) {
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_RISCV || f.Type != elf.ET_EXEC {
		return nil, fmt.Errorf("fit: not a RISC-V 64 executable (%v %v %v)", f.Class, f.Machine, f.Type)
	}
	var loads []*elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Memsz > 0 {
			loads = append(loads, p)
		}
	}
	if len(loads) == 0 {
		return nil, fmt.Errorf("fit: no loadable segment")
	}
	sort.Slice(loads, func(i, j int) bool { return loads[i].Vaddr < loads[j].Vaddr })
	lo := loads[0].Vaddr
	var hi uint64
	entryOK := false
	for i, p := range loads {
		if p.Paddr != p.Vaddr {
			return nil, fmt.Errorf("fit: segment at %#x has physical address %#x: the payload runs untranslated", p.Vaddr, p.Paddr)
		}
		if p.Filesz > p.Memsz {
			return nil, fmt.Errorf("fit: segment at %#x has more file bytes than memory", p.Vaddr)
		}
		if i > 0 && p.Vaddr < loads[i-1].Vaddr+loads[i-1].Memsz {
			return nil, fmt.Errorf("fit: segments at %#x and %#x overlap", loads[i-1].Vaddr, p.Vaddr)
		}
		end := p.Vaddr + p.Memsz
		if end < p.Vaddr || end-lo > MaxSpan {
			return nil, fmt.Errorf("fit: segments span more than %d MiB", MaxSpan>>20)
		}
		hi = max(hi, end)
		if p.Flags&elf.PF_X != 0 && f.Entry >= p.Vaddr && f.Entry < end {
			entryOK = true
		}
	}
	if !entryOK {
		return nil, fmt.Errorf("fit: entry %#x is not in an executable segment", f.Entry)
	}
	size := (hi - lo + 7) &^ 7
	data := make([]byte, size)
	for _, p := range loads {
		n, err := p.ReadAt(data[p.Vaddr-lo:p.Vaddr-lo+p.Filesz], 0)
		if err != nil || uint64(n) != p.Filesz {
			return nil, fmt.Errorf("fit: reading segment at %#x: %v", p.Vaddr, err)
		}
	}
	return &Payload{Load: lo, Entry: f.Entry, Data: data}, nil
}

// CheckRegion reports a loadable segment outside [base, base+size).
func CheckRegion(f *elf.File, base, size uint64) error {
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Memsz == 0 {
			continue
		}
		if p.Vaddr < base || p.Vaddr+p.Memsz > base+size || p.Vaddr+p.Memsz < p.Vaddr {
			return fmt.Errorf("fit: segment [%#x, %#x) is outside [%#x, %#x)", p.Vaddr, p.Vaddr+p.Memsz, base, base+size)
		}
	}
	return nil
}

// ITS returns the image tree source mkimage turns into the FIT: StarFive's
// layout for visionfive2_fw_payload.img (conf/visionfive2-uboot-fit-image.its
// in github.com/starfive-tech/VisionFive2: one "firmware" image, arch
// riscv, os u-boot, no compression, one configuration), with the kernel's
// load and entry addresses. SPL jumps to the entry with a0 = hart id and
// a1 = device tree on every hart; "os u-boot" is what makes it pass the
// device tree (spl_fit.c, os_takes_devicetree).
func ITS(p *Payload, binPath string) string {
	cells := func(v uint64) string { return fmt.Sprintf("<%#x %#x>", v>>32, v&0xffffffff) }
	r := strings.NewReplacer(
		"@BIN@", binPath,
		"@LOAD@", cells(p.Load),
		"@ENTRY@", cells(p.Entry),
	)
	return r.Replace(`/dts-v1/;

/ {
	description = "Exo exokernel for the StarFive VisionFive 2";
	#address-cells = <2>;

	images {
		firmware {
			description = "exo";
			data = /incbin/("@BIN@");
			type = "firmware";
			arch = "riscv";
			os = "u-boot";
			load = @LOAD@;
			entry = @ENTRY@;
			compression = "none";
		};
	};

	configurations {
		default = "config-1";

		config-1 {
			description = "Exo on the VisionFive 2";
			firmware = "firmware";
		};
	};
};
`)
}

// Trampoline returns the three instructions a boot loader stand-in places
// at from: they jump to entry with every other register untouched (a0 and
// a1 as the loader's reset code set them). It is how the sifive_u test
// reproduces U-Boot SPL's entry: QEMU's reset vector starts every hart at
// the DRAM base with a0 = hart id and a1 = the device tree.
func Trampoline(from, entry uint64) ([]byte, error) {
	off := int64(entry - from)
	if off < -(1<<31) || off >= 1<<31-1<<11 {
		return nil, fmt.Errorf("fit: entry %#x out of reach of %#x", entry, from)
	}
	hi := (off + 0x800) >> 12
	lo := off - hi<<12
	const t0 = 5
	insns := []uint32{
		uint32(hi)<<12 | t0<<7 | 0x17,                        // auipc t0, hi
		uint32(lo)&0xfff<<20 | t0<<15 | 0<<12 | t0<<7 | 0x13, // addi t0, t0, lo
		t0<<15 | 0x67, // jalr x0, 0(t0)
	}
	b := make([]byte, 4*len(insns))
	for i, in := range insns {
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(in), byte(in>>8), byte(in>>16), byte(in>>24)
	}
	return b, nil
}
