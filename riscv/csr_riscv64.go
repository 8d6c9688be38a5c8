package riscv

// The accessors below are one CSR instruction each (csr_riscv64.s).

// ReadMstatus returns mstatus.
func ReadMstatus() uint64

// SetMstatus sets the bits of mask in mstatus.
func SetMstatus(mask uint64)

// ClearMstatus clears the bits of mask in mstatus.
func ClearMstatus(mask uint64)

// SetMie sets the bits of mask in mie.
func SetMie(mask uint64)

// ClearMie clears the bits of mask in mie.
func ClearMie(mask uint64)

// ReadMip returns the pending interrupts.
func ReadMip() uint64

// WriteMcounteren sets which counters lower modes may read.
func WriteMcounteren(v uint64)

// WriteScounteren sets which counters User mode may read (when S-mode exists).
func WriteScounteren(v uint64)

// WriteMedeleg sets which exceptions are delegated to S-mode.
func WriteMedeleg(v uint64)

// WriteMideleg sets which interrupts are delegated to S-mode.
func WriteMideleg(v uint64)

// ReadMtvec returns the trap vector.
func ReadMtvec() uint64

// ReadMhartid returns the hart's id.
func ReadMhartid() uint64

// ReadMisa returns the ISA description.
func ReadMisa() uint64

// ReadTime returns the time CSR (the CLINT's mtime, as the hart sees it).
func ReadTime() uint64

// ReadCycle returns the cycle counter.
func ReadCycle() uint64

// ReadInstret returns the instructions-retired counter. Under QEMU's TCG it
// counts instructions only with -icount; otherwise it follows the host's
// clock.
func ReadInstret() uint64

// WriteSatp installs a page table: Sv39 mode, address-space id and root PPN
// in v. It does not flush the address-translation caches; entries are tagged
// with the ASID.
func WriteSatp(v uint64)

// ReadSatp returns satp.
func ReadSatp() uint64

// FlushTLB flushes the address-translation caches after a page-table entry
// was changed (sfence.vma x0, x0).
func FlushTLB()

// flushPage flushes the translation of the page at va tagged with address
// space asid (sfence.vma va, asid; priv §4.2.1).
func flushPage(va, asid uint64)

// flushPageAllASIDs flushes the translation of va in every address space
// (sfence.vma va, x0).
func flushPageAllASIDs(va uint64)

// flushASID flushes every translation tagged with address space asid,
// leaf or not (sfence.vma x0, asid).
func flushASID(asid uint64)

// FlushPage orders the kernel's earlier stores to the leaf entry for va in
// the page table satp before the hart's later translations of va, and drops
// any translation of va it cached (priv §4.2.1): only that address space's
// if satp carries an ASID, every address space's otherwise (ASID 0 is
// untagged). It is needed whether or not that table is installed, because
// entries tagged with an ASID outlive a switch to another table.
func FlushPage(satp, va uint64) {
	if asid := SatpASID(satp); asid != 0 {
		flushPage(va, asid)
	} else {
		flushPageAllASIDs(va)
	}
}

// FlushAddressSpace is FlushPage for every address of the table satp, leaf
// and non-leaf entries alike: after the kernel built or extended the
// table's upper levels, and before an ASID that tagged another table runs
// under a new one.
func FlushAddressSpace(satp uint64) {
	if asid := SatpASID(satp); asid != 0 {
		flushASID(asid)
	} else {
		FlushTLB()
	}
}

// writePMP sets physical memory protection entry i (0..7): its address
// register (already shifted right by 2) and its 8-bit configuration.
func writePMP(i int, addr uint64, cfg uint8)

// WritePMP sets PMP entry i (0..7, the entries every implementation with PMP
// has at least of on the boards Exo supports) to address register addr
// (the address shifted right by 2) and configuration cfg.
func WritePMP(i int, addr uint64, cfg uint8) {
	if i < 0 || i > 7 {
		panic("riscv: PMP entry out of range")
	}
	writePMP(i, addr, cfg)
}

// WaitForInterrupt stalls the hart until an interrupt is pending, even one
// masked by mstatus.MIE (priv §3.3.3).
func WaitForInterrupt()
