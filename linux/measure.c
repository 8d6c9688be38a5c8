/*
 * linux/measure.c: the Linux peer guest's handler-based measurements for
 * make compare (docs/COMPARE.md). Static riscv64 C, run once by linux/init
 * at boot; written in C because Go's runtime owns the signal handlers and
 * would put its own dispatch between the fault and a handler.
 *
 * Every figure is measured the way Exo's bench environment measures
 * (firmware/envs/testenv/bench.go): the mean per operation over a batch,
 * the fastest of 5 batches. Each line is
 *
 *     measure: KEY VALUE ns
 *
 * (or "measure: KEY n/a REASON"), and the program ends with
 * "measure: done". tools/compare parses these lines. "measure echo" is
 * the guest's UDP echo server instead (linux/init execs it last).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define BATCHES 5
#define PAGES 100

static long pagesize;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	printf("measure: error %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static void report(const char *key, uint64_t best_ps)
{
	printf("measure: %s %llu.%llu ns\n", key, (unsigned long long)(best_ps / 1000),
	       (unsigned long long)(best_ps % 1000 / 100));
	fflush(stdout);
}

/* The operations are written as loops of n so that the call into the
 * measured function does not count; each returns elapsed nanoseconds. */
typedef uint64_t (*batch_fn)(int n);

static void measure(const char *key, batch_fn f, int n)
{
	uint64_t best = ~(uint64_t)0;
	for (int b = 0; b < BATCHES; b++) {
		uint64_t ps = f(n) * 1000 / (uint64_t)n;
		if (ps < best)
			best = ps;
	}
	report(key, best);
}

/* A faulting load and an illegal instruction, both 4 bytes long (no
 * compressed encoding), so that a handler can step over them. */
static inline void faulting_load(volatile char *p)
{
	__asm__ volatile(".option push\n.option norvc\nlb t0, 0(%0)\n.option pop" ::"r"(p) : "t0", "memory");
}

static inline void illegal_instruction(void)
{
	/* csrrw zero, cycle, zero: a write to a read-only CSR, illegal
	 * everywhere (the "unimp" encoding). */
	__asm__ volatile(".option push\n.option norvc\n.word 0xc0001073\n.option pop" ::: "memory");
}

/* A misaligned atomic: QEMU raises a store/AMO address-misaligned
 * exception, which OpenSBI does not emulate for AMOs and hands to Linux,
 * which sends SIGBUS. */
static inline void misaligned_amo(volatile char *p)
{
	__asm__ volatile(".option push\n.option norvc\namoadd.w zero, zero, (%0)\n.option pop" ::"r"(p + 2) : "memory");
}

/* Handler: step over the 4-byte instruction (REG_PC is gregs[0]). */
static void skip_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	((ucontext_t *)uc)->uc_mcontext.__gregs[REG_PC] += 4;
}

static char *region; /* PAGES pages */
static volatile int next_page; /* appel1: the page the handler protects */

/* Handler: make the faulting page readable and writable again, and retry. */
static void unprotect_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char *p = (char *)((uintptr_t)si->si_addr & ~(uintptr_t)(pagesize - 1));
	if (mprotect(p, pagesize, PROT_READ | PROT_WRITE) != 0)
		_exit(3);
}

/* Handler (appel1): unprotect the faulting page, protect another. */
static void appel1_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char *p = (char *)((uintptr_t)si->si_addr & ~(uintptr_t)(pagesize - 1));
	if (mprotect(p, pagesize, PROT_READ | PROT_WRITE) != 0)
		_exit(3);
	if (mprotect(region + (long)next_page * pagesize, pagesize, PROT_NONE) != 0)
		_exit(3);
}

static void handle(int sig, void (*h)(int, siginfo_t *, void *))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = h;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		die("sigaction");
}

static uint64_t b_sigsegv(int n)
{
	handle(SIGSEGV, skip_handler);
	if (mprotect(region, pagesize, PROT_NONE) != 0)
		die("mprotect");
	uint64_t t = now_ns();
	for (int i = 0; i < n; i++)
		faulting_load(region);
	t = now_ns() - t;
	mprotect(region, pagesize, PROT_READ | PROT_WRITE);
	return t;
}

static uint64_t b_sigill(int n)
{
	handle(SIGILL, skip_handler);
	uint64_t t = now_ns();
	for (int i = 0; i < n; i++)
		illegal_instruction();
	return now_ns() - t;
}

static uint64_t b_sigbus(int n)
{
	handle(SIGBUS, skip_handler);
	/* Only SIGBUS is caught: were it any other signal, /measure would
	 * die and linux/init report it. */
	signal(SIGSEGV, SIG_DFL);
	uint64_t t = now_ns();
	for (int i = 0; i < n; i++)
		misaligned_amo(region);
	return now_ns() - t;
}

static uint64_t b_mprotect1(int n)
{
	uint64_t t = now_ns();
	for (int i = 0; i < n; i++)
		if (mprotect(region, pagesize, (i & 1) ? PROT_READ | PROT_WRITE : PROT_READ) != 0)
			die("mprotect");
	t = now_ns() - t;
	mprotect(region, pagesize, PROT_READ | PROT_WRITE);
	return t;
}

static uint64_t b_mprotect100(int n)
{
	uint64_t t = now_ns();
	for (int i = 0; i < n; i++)
		if (mprotect(region, PAGES * pagesize, (i & 1) ? PROT_READ | PROT_WRITE : PROT_READ) != 0)
			die("mprotect");
	t = now_ns() - t;
	mprotect(region, PAGES * pagesize, PROT_READ | PROT_WRITE);
	return t;
}

/* Appel and Li's "trap": a write to a protected page, whose handler
 * unprotects it; the page is protected again for the next round (that
 * mprotect is part of each round). */
static uint64_t b_trap(int n)
{
	handle(SIGSEGV, unprotect_handler);
	uint64_t t = now_ns();
	for (int i = 0; i < n; i++) {
		if (mprotect(region, pagesize, PROT_READ) != 0)
			die("mprotect");
		((volatile char *)region)[0] = 1;
	}
	return now_ns() - t;
}

/* appel1: protect one page, fault on it; the handler unprotects it and
 * protects the next (Appel and Li's "prot1 + trap + unprot"). */
static uint64_t b_appel1(int n)
{
	handle(SIGSEGV, appel1_handler);
	mprotect(region, PAGES * pagesize, PROT_READ | PROT_WRITE);
	next_page = 0;
	if (mprotect(region, pagesize, PROT_NONE) != 0)
		die("mprotect");
	uint64_t t = now_ns();
	for (int i = 0; i < n; i++) {
		int cur = next_page;
		next_page = (cur + 1) % PAGES;
		((volatile char *)region)[(long)cur * pagesize] = 1;
	}
	t = now_ns() - t;
	mprotect(region, PAGES * pagesize, PROT_READ | PROT_WRITE);
	return t;
}

/* appel2: protect 100 pages at once, then fault on each in turn; the
 * handler unprotects the faulting page ("protN + trap + unprot"). Per
 * page. */
static uint64_t b_appel2(int n)
{
	handle(SIGSEGV, unprotect_handler);
	uint64_t t = now_ns();
	for (int i = 0; i < n / PAGES; i++) {
		if (mprotect(region, PAGES * pagesize, PROT_READ) != 0)
			die("mprotect");
		for (int p = 0; p < PAGES; p++)
			((volatile char *)region)[(long)p * pagesize] = 1;
	}
	return now_ns() - t;
}

static uint64_t b_yield(int n)
{
	uint64_t t = now_ns();
	for (int i = 0; i < n; i++)
		sched_yield();
	return now_ns() - t;
}

/* A pipe round trip between two processes: one byte there, one back. */
static uint64_t b_pipe(int n)
{
	int there[2], back[2];
	char c = 0;
	if (pipe(there) != 0 || pipe(back) != 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (int i = 0; i < n; i++)
			if (read(there[0], &c, 1) != 1 || write(back[1], &c, 1) != 1)
				_exit(2);
		_exit(0);
	}
	uint64_t t = now_ns();
	for (int i = 0; i < n; i++)
		if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1)
			die("pipe round trip");
	t = now_ns() - t;
	waitpid(pid, NULL, 0);
	close(there[0]), close(there[1]), close(back[0]), close(back[1]);
	return t;
}

/* A shared-memory ping-pong between two processes on one hart: each side
 * waits for its turn with sched_yield. One round trip: the counter goes
 * there and back. */
static uint64_t b_shm(int n)
{
	volatile int *turn = mmap(NULL, pagesize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (turn == MAP_FAILED)
		die("mmap shared");
	*turn = 0;
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		for (int i = 0; i < n; i++) {
			while (*turn != 2 * i + 1)
				sched_yield();
			*turn = 2 * i + 2;
		}
		_exit(0);
	}
	uint64_t t = now_ns();
	for (int i = 0; i < n; i++) {
		*turn = 2 * i + 1;
		while (*turn != 2 * i + 2)
			sched_yield();
	}
	t = now_ns() - t;
	waitpid(pid, NULL, 0);
	munmap((void *)turn, pagesize);
	return t;
}

/* The UDP echo server (RFC 862) on port 7: blocking recvfrom and sendto,
 * one datagram at a time, forever. */
static void __attribute__((noreturn)) echo(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die("udp socket");
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(7);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
		die("udp bind :7");
	printf("ready: udp echo on 198.18.0.2:7 (C)\n");
	fflush(stdout);
	static char buf[65536];
	for (;;) {
		struct sockaddr_in from;
		socklen_t len = sizeof from;
		ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
		if (n >= 0)
			sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "echo") == 0)
		echo();
	/* "measure spin": a busy process for the busy sweep (compare.busy=N),
	 * Linux's counterpart of Exo's testenv spin: never blocks, never
	 * yields. */
	if (argc > 1 && strcmp(argv[1], "spin") == 0)
		for (;;)
			__asm__ volatile("" ::: "memory");
	pagesize = sysconf(_SC_PAGESIZE);
	region = mmap(NULL, PAGES * pagesize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		die("mmap");
	memset(region, 0, PAGES * pagesize); /* every page present */

	measure("sigsegv", b_sigsegv, 2000);
	measure("sigill", b_sigill, 2000);
	/* The one bus error the hart raises that reaches a program: a
	 * misaligned AMO (OpenSBI emulates misaligned loads and stores). */
	measure("sigbus", b_sigbus, 2000);
	measure("mprotect1", b_mprotect1, 2000);
	measure("mprotect100", b_mprotect100, 500);
	measure("trap", b_trap, 1000);
	measure("appel1", b_appel1, 1000);
	measure("appel2", b_appel2, 10 * PAGES);
	measure("yield", b_yield, 20000);
	measure("pipe", b_pipe, 1000);
	measure("shm", b_shm, 1000);
	printf("measure: done\n");
	return 0;
}
