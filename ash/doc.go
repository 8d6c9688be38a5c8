// Package ash implements Exo's verified bytecode: the instruction set, the
// verifier, the interpreter, a program builder, a text assembler and
// disassembler, a classic-BPF (tcpdump -dd) importer and an ELF loader.
//
// The same bytecode serves three purposes, named by [ProgType]:
//
//   - packet filters ([TypeFilter]): read the packet, return nonzero to accept;
//   - application-specific handlers ([TypeASH]): read the packet, build a reply
//     in a kernel reply buffer and/or copy data into a buffer the environment
//     registered, and return [RetConsumed], [RetPass] or [RetWake];
//   - wakeup predicates ([TypePredicate]): read a window of the environment's
//     memory and a block of kernel counters, return nonzero for "wake up".
//
// The encoding is a subset of eBPF's 64-bit instruction format (RFC 9669), so
// that clang -target bpf can compile C to it and llvm-objdump can read it. The
// kernel calls [Verify] once when a program is bound, then [Machine.Run] for
// every packet; Run does not allocate. docs/BYTECODE.md is the reference.
//
// The package is pure Go with no tamago imports so that it is tested on the
// host.
package ash
