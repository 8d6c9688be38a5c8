// Package caps implements Exo's self-authenticating capabilities.
//
// A capability names a resource by its physical name (a range of page
// numbers, slot indexes, environment ids or network names: see Kind), a set
// of rights and an epoch, sealed with a MAC under a key the kernel draws at
// every boot. It is plain bytes (Cap, Size of them): environments keep them
// in their own memory and hand them to each other however they like. The
// kernel keeps no table of who holds what.
//
// The kernel side is an Authority: Mint seals a new capability, Verify checks
// one when the kernel is about to make a binding (install a page-table
// entry, give a slot, bind a filter) — the secure binding of the exokernel
// papers. Holders weaken capabilities without the kernel with Derive, which
// adds a restriction record and chains the MAC as macaroons do; Verify
// computes the effective rights and range as the intersection of the minted
// ones and every record, so no record can amplify. Revocation bumps the
// resource's epoch (Epochs): every capability minted before it stops
// verifying for that resource.
//
// Verify and Derive do not allocate, so the kernel may call them on its
// system call path. docs/CAPABILITIES.md is the reference: byte layout,
// kinds and rights, the MAC chain, revocation, errors and the security
// argument.
//
// The package is pure Go with no tamago imports so that it is tested on the
// host.
package caps
