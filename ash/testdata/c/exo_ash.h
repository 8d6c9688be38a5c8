/* exo_ash.h: what a C program for Exo's bytecode machine (package ash)
 * needs: the context layout, the helpers by number and the return values.
 * docs/BYTECODE.md is the reference. Compile with
 *
 *	clang -target bpf -O2 -c prog.c -o prog.o
 *
 * and load with ash.LoadELF (or ashasm disasm/verify). Programs use no maps,
 * no globals and no calls to other non-inlined functions.
 */
#ifndef EXO_ASH_H
#define EXO_ASH_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

/* The read-only context R1 points at. Each field is a 64-bit word, read
 * with an 8-byte load; pointers are opaque machine addresses. */
struct exo_ctx {
	__u64 data, data_end;         /* packet: filter, ASH */
	__u64 len;                    /* wire length: filter, ASH */
	__u64 reply, reply_end;       /* reply buffer: ASH */
	__u64 msg, msg_end;           /* env message buffer: ASH */
	__u64 mem, mem_end;           /* env memory window: predicate */
	__u64 counters, counters_end; /* kernel counters: predicate */
};

/* Helpers, called by number. */
static long (*send_reply)(unsigned long len) = (void *)1;
static long (*pkt_copy)(unsigned long pkt_off, void *dst, unsigned long len) = (void *)2;
static long (*csum)(const void *p, unsigned long len, unsigned long seed) = (void *)3;
static long (*csum_update)(unsigned long csum, unsigned long old, unsigned long new_) = (void *)4;
/* Returns the checksum of the copied bytes from seed (0: it verifies), or
 * EXO_COPY_CSUM_FAILED, having copied nothing. */
static long (*pkt_copy_csum)(unsigned long pkt_off, void *dst, unsigned long len, unsigned long seed) = (void *)5;
#define EXO_COPY_CSUM_FAILED (-1L)

/* ASH results. */
#define EXO_CONSUMED 0
#define EXO_PASS 1
#define EXO_WAKE 2 /* consumed, and the env woken */

#define EXO_REPLY_SIZE 1514 /* the default reply buffer */

#define SEC(name) __attribute__((section(name), used))
#define exo_ptr(field) ((__u8 *)(long)(field))

#endif
