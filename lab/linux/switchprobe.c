/*
 * switchprobe: when was this process not running, by the Cortex-A9 global timer?
 *
 * Part of lab/linux (Linux as OVM's host, issue 13). The Linux side of the
 * vCPU switches between Linux and the SRT VM sharing its core: the same
 * method as the paper's NRT probe. The process maps the global timer's
 * counter through /dev/mem (the one clock every VM and OVM read), runs at
 * SCHED_FIFO 99 with its memory locked, and reads the counter's low word in a
 * tight loop. Two reads further apart than THRESHOLD ticks are a gap: the
 * process did not run between them (OVM ran another vCPU, or Linux took an
 * interrupt). The gap's first read is the last before a switch away, its
 * second the first after the switch back; the SRT's own stamps of its job
 * (its ring, read by the lab) fall between them.
 *
 * Usage: switchprobe COUNTER_ADDR GAPS THRESHOLD OUT
 *   COUNTER_ADDR: the global timer's counter (periph_base + 0x200), physical;
 *   GAPS: how many gaps to record; THRESHOLD: the smallest gap, in ticks;
 *   OUT: the file the gaps go to, one "begin end" per line (decimal low words).
 * It gives up after LIMIT_GAP_FREE_READS reads without a gap. Prints one line:
 *   switchprobe: gaps=N threshold=T reads=R first=B last=E
 * and exits 0 when it recorded GAPS gaps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u
#define MAX_GAPS 100000u
#define LIMIT_GAP_FREE_READS 200000000u

static uint32_t gap_begin[MAX_GAPS], gap_end[MAX_GAPS];

static unsigned long number(const char *text, const char *what)
{
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 0);
	if (errno || *end || end == text) {
		fprintf(stderr, "switchprobe: %s %s is not a number\n", what, text);
		exit(2);
	}
	return value;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: switchprobe COUNTER_ADDR GAPS THRESHOLD OUT\n");
		return 2;
	}
	unsigned long address = number(argv[1], "COUNTER_ADDR");
	unsigned long wanted = number(argv[2], "GAPS");
	uint32_t threshold = (uint32_t)number(argv[3], "THRESHOLD");
	if (wanted == 0 || wanted > MAX_GAPS || threshold == 0 || address % 4) {
		fprintf(stderr, "switchprobe: GAPS in 1..%u, THRESHOLD > 0, an aligned address\n",
			MAX_GAPS);
		return 2;
	}
	struct sched_param fifo = { .sched_priority = 99 };
	if (mlockall(MCL_CURRENT | MCL_FUTURE) || sched_setscheduler(0, SCHED_FIFO, &fifo)) {
		perror("switchprobe: mlockall/SCHED_FIFO");
		return 1;
	}
	int mem = open("/dev/mem", O_RDONLY | O_SYNC);
	if (mem < 0) {
		perror("switchprobe: /dev/mem");
		return 1;
	}
	unsigned long page = address & ~(unsigned long)(PAGE - 1);
	void *mapped = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, mem, (off_t)page);
	if (mapped == MAP_FAILED) {
		perror("switchprobe: mmap of the global timer");
		return 1;
	}
	const volatile uint32_t *counter =
		(const volatile uint32_t *)((const char *)mapped + (address - page));

	unsigned long gaps = 0, reads = 0, since_gap = 0;
	uint32_t previous = *counter;
	while (gaps < wanted && since_gap < LIMIT_GAP_FREE_READS) {
		uint32_t now = *counter;
		reads++;
		since_gap++;
		if (now - previous >= threshold) {
			gap_begin[gaps] = previous;
			gap_end[gaps] = now;
			gaps++;
			since_gap = 0;
		}
		previous = now;
	}

	FILE *out = fopen(argv[4], "w");
	if (!out) {
		perror("switchprobe: OUT");
		return 1;
	}
	for (unsigned long i = 0; i < gaps; i++)
		fprintf(out, "%u %u\n", gap_begin[i], gap_end[i]);
	if (fclose(out)) {
		perror("switchprobe: OUT");
		return 1;
	}
	printf("switchprobe: gaps=%lu threshold=%u reads=%lu first=%u last=%u\n", gaps, threshold,
	       reads, gaps ? gap_begin[0] : 0, gaps ? gap_end[gaps - 1] : 0);
	return gaps == wanted ? 0 : 1;
}
