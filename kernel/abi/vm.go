package abi

// Virtual memory primitives for user-level memory management (docs/ABI.md,
// "Virtual memory primitives"): the ExOS calls of Engler et al. (SOSP'95
// §7.3) that Appel and Li's algorithms need (ASPLOS'91): change the rights
// of pages already mapped, in place, and read the accessed and dirty bits
// the hart keeps in the page table. The kernel exposes; it does not manage.

// Virtual memory system calls.
const (
	// SysProtect sets the permissions of a1 consecutive pages of the
	// caller's, from the page-aligned address a0 (at or above RAMStart),
	// to a2: MapRead|MapWrite|MapExec as for SysMap, or ProtNone. Every
	// page must be mapped; the page numbers they map must all lie within
	// the page capability at a3 (one capability, whose range covers the
	// lowest to the highest), which must carry every right the new
	// permissions need, as SysMap's would. ProtNone needs no capability
	// (a3 is not looked at): an environment may always take rights away.
	// W^X holds as for SysMap, across every mapping of each frame. At
	// most MaxProtect pages; all or nothing: a refusal changes no page,
	// ErrNotFound with a0 = the first page not mapped. Returns a1.
	SysProtect = 21
	// SysPageBits writes one byte per page (PageMapped, PageAccessed,
	// PageDirty) for a1 consecutive pages from the page-aligned address a0
	// into the a1 bytes at user address a2 (User-writable), and, if a3
	// has PageClearAccessed or PageClearDirty, clears those bits in the
	// page table after reading them (and fences the translations). A page
	// not mapped reads as 0. At most MaxPageBits pages. Returns how many
	// of them are mapped.
	SysPageBits = 22
)

// ProtNone is SysProtect's a2 for no access: the page stays mapped (its
// frame and any binding unchanged), but every User access to it faults.
const ProtNone = 0

// Limits of the virtual memory calls.
const (
	MaxProtect  = 512 // pages per SysProtect: one page table's worth
	MaxPageBits = 512 // pages per SysPageBits
)

// The bits of a SysPageBits byte.
const (
	// PageMapped: the page is mapped (in any way, ProtNone included).
	PageMapped = 1 << 0
	// PageAccessed: the page-table entry's A bit: the page was read,
	// written or fetched since it was mapped or the bit last cleared.
	PageAccessed = 1 << 1
	// PageDirty: the entry's D bit: the page was written since.
	PageDirty = 1 << 2
)

// SysPageBits's a3 flags.
const (
	PageClearAccessed = 1 << 0
	PageClearDirty    = 1 << 1
)
