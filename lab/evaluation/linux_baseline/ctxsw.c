/*
 * ctxsw: the Linux process context switch, the baseline that OVM's vCPU
 * switch is compared with. Measured in the manner of lmbench's lat_ctx
 * (two processes, no working set): a parent and a child pass one byte back
 * and forth over two pipes, both pinned to CPU 0.
 *
 * One round: the parent writes to pipe A and reads pipe B, which blocks and
 * switches to the child; the child's read of A returns, it writes to B and
 * reads A again, which blocks and switches back. A round therefore costs
 * two context switches plus two write+read pairs of one byte.
 *
 * Method (all times from clock_gettime(CLOCK_MONOTONIC) in the parent):
 *   clock    = the cost of one clock_gettime, mean of CLOCK_CALLS calls;
 *   overhead = one process writing one byte to a pipe and reading it back,
 *              mean over OVERHEAD_PAIRS pairs (what lmbench subtracts);
 *   sample i = (t(ROUNDS_PER_SAMPLE rounds) - clock) / (2 * ROUNDS_PER_SAMPLE)
 *              - overhead, rounded to whole ns,
 * after WARMUP_ROUNDS rounds that are not sampled.
 *
 * Two kernel paths. When the parent's write wakes the child, CFS either lets
 * the child preempt the parent at once (the parent then finds its byte
 * without blocking: one sleep and wake-up a round instead of two, about
 * 2,300 instructions less a round) or not. CFS decides on the processes' run
 * times in ns, so the mix of the two paths follows the -icount shift and
 * whatever else the parent does, such as the clock_gettime calls (system
 * calls: the A9 has no generic timer for the vDSO) between samples. The
 * parent's involuntary switches (printed) count the rounds that took the
 * short path. Measured on QEMU at -icount shift=4, the mean of 1,000 samples
 * of R rounds was 66,100 ns at R=1 (about half the rounds short: modes
 * 52,000 and 70,700 ns), 73,300 at R=4, 74,100 at R=16 (4% short), 74,760 at
 * R=128, and 2,000 rounds in one interval gave 74,760. R=16 stays within 1%
 * of the long interval at shift=4 while keeping a distribution; it makes
 * the clocksource's grain (sp804, 1 us on vexpress: its device tree has no
 * global timer) 1 us / 32 = 31 ns a sample; and a sample (about 3.7 ms of
 * virtual time at shift=4) holds about one 250 Hz tick. At shift=0 the mix
 * differs: the first ~100 samples are short (3,300 ns), the rest long
 * (4,450 ns), mean 4,380, against 4,020 for 2,000 rounds in one interval.
 *
 * Output: the samples as the series context_switch.linux (unit ns) in the
 * lab's record line protocol v1, written by the guests' own writer
 * (ovm/guests/lib/records.c, compiled into this program; gprintf below is
 * its console), and one plain line "ctxsw: cpus=... overhead_ns=..." that
 * the parser counts as foreign. Under QEMU with -icount the ns are virtual
 * time, i.e. instruction counts times 2^shift, not ns on silicon.
 *
 * Build: arm-linux-gnueabihf-gcc -static -O2 -I ovm/guests/lib
 *        -I ovm/lib/inc -I ovm/include ctxsw.c ovm/guests/lib/records.c
 *        ovm/lib/format.c (lab/linux_baseline does this).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "records.h"
#include <lib/format.h>

#ifndef SAMPLES
#define SAMPLES 1000
#endif
#ifndef ROUNDS_PER_SAMPLE
#define ROUNDS_PER_SAMPLE 16
#endif
#ifndef WARMUP_ROUNDS
#define WARMUP_ROUNDS 200
#endif
#define OVERHEAD_PAIRS 2000
#define CLOCK_CALLS 2000

#define SERIES "context_switch.linux"

/* The records writer's console: its own formatter, onto stdout. */
static void sink(void *ctx, char c)
{
	(void)ctx;
	putchar(c);
}

void gprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(sink, NULL, fmt, ap);
	va_end(ap);
}

static void die(const char *what)
{
	printf("ctxsw: error: %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static long long now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime");
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void put_byte(int fd)
{
	char c = 'x';

	if (write(fd, &c, 1) != 1)
		die("write");
}

static void get_byte(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		die("read");
}

static void pin_to_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		die("sched_setaffinity");
}

/* Rounded a / b for a >= 0, b > 0. */
static long long div_round(long long a, long long b)
{
	return (a + b / 2) / b;
}

static u32 samples[SAMPLES];

int main(void)
{
	int to_child[2], to_parent[2], self[2];
	long long clock_x, overhead_x; /* both in ns times their call counts */
	long long clock_ns, t0;
	u32 negative = 0;
	struct rusage before, after, child_usage;
	pid_t child;

	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	pin_to_cpu0();
	if (pipe(to_child) != 0 || pipe(to_parent) != 0 || pipe(self) != 0)
		die("pipe");

	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		/* Inherits the CPU mask. Echoes until the parent closes its end. */
		char c;

		close(to_child[1]);
		close(to_parent[0]);
		while (read(to_child[0], &c, 1) == 1)
			if (write(to_parent[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);

	/* The cost of one clock_gettime. */
	t0 = now_ns();
	for (int i = 0; i < CLOCK_CALLS; i++)
		now_ns();
	clock_x = now_ns() - t0;
	clock_ns = div_round(clock_x, CLOCK_CALLS);

	/* One process's write+read pair of one byte, no switch. */
	for (int i = 0; i < 100; i++) {
		put_byte(self[1]);
		get_byte(self[0]);
	}
	t0 = now_ns();
	for (int i = 0; i < OVERHEAD_PAIRS; i++) {
		put_byte(self[1]);
		get_byte(self[0]);
	}
	overhead_x = now_ns() - t0 - clock_ns;

	for (int i = 0; i < WARMUP_ROUNDS; i++) {
		put_byte(to_child[1]);
		get_byte(to_parent[0]);
	}
	getrusage(RUSAGE_SELF, &before);
	for (int s = 0; s < SAMPLES; s++) {
		long long start = now_ns(), elapsed;
		long long scaled;

		for (int i = 0; i < ROUNDS_PER_SAMPLE; i++) {
			put_byte(to_child[1]);
			get_byte(to_parent[0]);
		}
		elapsed = now_ns() - start - clock_ns;
		/* elapsed / (2R) - overhead_x / OVERHEAD_PAIRS, with one rounding at the end. */
		scaled = elapsed * OVERHEAD_PAIRS - 2LL * ROUNDS_PER_SAMPLE * overhead_x;
		if (scaled < 0) {
			negative++; /* cannot happen unless the overhead was measured wrong */
			scaled = 0;
		}
		samples[s] = (u32)div_round(scaled, 2LL * ROUNDS_PER_SAMPLE * OVERHEAD_PAIRS);
	}

	getrusage(RUSAGE_SELF, &after);

	close(to_child[1]);
	if (waitpid(child, NULL, 0) != child)
		die("waitpid");
	getrusage(RUSAGE_CHILDREN, &child_usage);

	printf("ctxsw: cpus=%ld samples=%d rounds_per_sample=%d warmup_rounds=%d "
	       "overhead_ns=%lld clock_ns=%lld negative=%u "
	       "parent_voluntary=%ld parent_involuntary=%ld child_voluntary=%ld child_involuntary=%ld\n",
	       sysconf(_SC_NPROCESSORS_ONLN), SAMPLES, ROUNDS_PER_SAMPLE, WARMUP_ROUNDS,
	       div_round(overhead_x, OVERHEAD_PAIRS), clock_ns, negative,
	       after.ru_nvcsw - before.ru_nvcsw, after.ru_nivcsw - before.ru_nivcsw,
	       child_usage.ru_nvcsw, child_usage.ru_nivcsw);
	record_series(SERIES, "ns", samples, SAMPLES);
	fflush(stdout);
	return 0;
}
