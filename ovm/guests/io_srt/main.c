/*
 * SRT I/O through OVM (OVM proxy): the console device shared by bandwidth,
 * and OVM's timer device. Two VMs run this program on different cores:
 * - chatty (arg0 = 1) writes 100-byte lines, up to CHATTY_BYTES_PER_JOB
 *   bytes a job (several times its share), until OVM refuses a byte (its
 *   queue is full: over its share);
 * - quiet (arg0 = 0) writes one short line per job and reads back how long
 *   its lines waited for the UART, the bound the sharing promises. It also
 *   waits in its first job for the timer device it armed, times its input
 *   path (io_cost.ovm_proxy, timer ticks per call) and checks that OVM
 *   refuses what it must.
 * arg1: jobs before the summary (default 400). Both go on afterwards with a
 * line every 500 jobs, so the lab sees them alive.
 */
#include "guest.h"
#include "records.h"

#define DEFAULT_JOBS 400
#define CHATTY_LINE 100
/* Each byte is a hypercall: this many fit a job's budget. */
#define CHATTY_BYTES_PER_JOB 32
#define COST_SAMPLES 100
#define TIMER_AFTER_US 300
/* How long the first job waits for the timer device at most. */
#define TIMER_WAIT_US 1000
#define ALIVE_EVERY 500

static volatile u32 timer_fired;
static u64 timer_due, timer_seen;
static u32 cost[COST_SAMPLES];

void guest_irq(void)
{
	for (;;) {
		u32 id = hypercall(HC_IRQ_ACK, 0, 0, 0).r1;
		if (id == OVM_IRQ_NONE)
			return;
		if (id == OVM_VIRQ_TIMER) {
			timer_seen = now_ticks();
			timer_fired++;
		}
		hypercall(HC_IRQ_EOI, id, 0, 0);
	}
}

static s32 console_put(char c)
{
	return hypercall(HC_OUTPUT, OVM_IO_CONSOLE + OVM_CONSOLE_DATA, (u8)c, 0).status;
}

static u32 console_stat(u32 reg)
{
	return hypercall(HC_INPUT, OVM_IO_CONSOLE + reg, 0, 0).r1;
}

static void job_done(void)
{
	hypercall(HC_VM_EXIT, 0, 0, 0);
}

/* Waiting for the console's share ends the job: printing never overruns a budget. */
void guest_console_wait(void)
{
	job_done();
}

/* The console figures for the lab, beside the summary lines for people. */
static void chatty_record(u32 jobs, u32 lines, u32 refused_jobs, u32 throttled, u32 delay)
{
	const struct record_value values[] = {
		{ "jobs", (s32)jobs },
		{ "lines", (s32)lines },
		{ "line_bytes", CHATTY_LINE },
		{ "refused_jobs", (s32)refused_jobs },
		{ "throttled", (s32)throttled },
		{ "max_delay_ticks", (s32)delay },
	};

	record_values("console", values, ARRAY_SIZE(values));
}

static void quiet_record(u32 lines, u32 line_bytes, u32 delay, u32 throttled)
{
	const struct record_value values[] = {
		{ "lines", (s32)lines },
		{ "line_bytes", (s32)line_bytes },
		{ "max_delay_ticks", (s32)delay },
		{ "max_delay_us", (s32)ticks_to_us(delay) },
		{ "throttled", (s32)throttled },
	};

	record_values("console", values, ARRAY_SIZE(values));
}

/* The chatty VM's current line, written across jobs from where OVM last refused. */
static char line[CHATTY_LINE];
static u32 line_pos = CHATTY_LINE;

static void next_chatty_line(u32 number)
{
	u32 n = 0;
	const char *head = "chatty ";
	while (*head)
		line[n++] = *head++;
	for (u32 div = 100000; div; div /= 10)
		line[n++] = (char)('0' + (number / div) % 10);
	line[n++] = ' ';
	for (; n < CHATTY_LINE - 1; n++)
		line[n] = (char)('a' + n % 26);
	line[n] = '\n';
	line_pos = 0;
}

static void chatty(u32 jobs)
{
	u32 lines = 0, refused_jobs = 0;

	for (u32 job = 0; job < jobs; job++) {
		for (u32 n = 0; n < CHATTY_BYTES_PER_JOB; n++) {
			if (line_pos == CHATTY_LINE)
				next_chatty_line(lines);
			if (console_put(line[line_pos]) != OVM_OK) {
				refused_jobs++;
				break;
			}
			if (++line_pos == CHATTY_LINE)
				lines++;
		}
		job_done();
	}
	u32 throttled = console_stat(OVM_CONSOLE_THROTTLED);
	u32 delay = console_stat(OVM_CONSOLE_MAX_DELAY);
	/* Its queue is full: end its line, and let the queue drain over jobs rather than wait
	 * inside one for room for the summary (which would overrun the job's budget). */
	while (line_pos < CHATTY_LINE) {
		if (console_put(line[line_pos]) == OVM_OK)
			line_pos++;
		else
			job_done();
	}
	while (console_stat(OVM_CONSOLE_PENDING))
		job_done();
	gprintf("chatty: jobs=%u lines=%u line_bytes=%u refused_jobs=%u throttled=%u "
		"max_delay_ticks=%u\n",
		jobs, lines, CHATTY_LINE, refused_jobs, throttled, delay);
	chatty_record(jobs, lines, refused_jobs, throttled, delay);
}

static void arm_timer(void)
{
	timer_due = now_ticks() + us_to_ticks(TIMER_AFTER_US);
	hypercall(HC_OUTPUT, OVM_IO_TIMER + OVM_TIMER_COMPARE_LO, (u32)timer_due, 0);
	hypercall(HC_OUTPUT, OVM_IO_TIMER + OVM_TIMER_COMPARE_HI, (u32)(timer_due >> 32), 0);
}

static u32 cost_late;
static s32 refusals[7];

static void measure_cost(void)
{
	u32 overhead = time_read_overhead();
	u32 late = 0;

	for (u32 i = 0; i < COST_SAMPLES; i++) {
		u64 t0 = now_ticks();
		struct hc_result lo = hypercall(HC_INPUT, OVM_IO_TIMER + OVM_TIMER_COUNT_LO, 0, 0);
		u64 t1 = now_ticks();
		u32 hi = hypercall(HC_INPUT, OVM_IO_TIMER + OVM_TIMER_COUNT_HI, 0, 0).r1;
		u64 count = ((u64)hi << 32) | lo.r1;
		late += lo.status != OVM_OK || count < t0 || count > t1;
		cost[i] = (u32)(t1 - t0) - overhead;
	}
	cost_late = late;
}

static void check_refusals(void)
{
	refusals[0] = hypercall(HC_OUTPUT, 0xfff20000u, 0, 0).status;
	refusals[1] = hypercall(HC_INPUT, OVM_IO_HOSTDEV + OVM_HOSTDEV_ID, 0, 0).status;
	refusals[2] = hypercall(HC_INPUT, OVM_IO_CONSOLE + OVM_CONSOLE_DATA, 0, 0).status;
	refusals[3] = hypercall(HC_INPUT, OVM_IO_TIMER + 2, 0, 0).status;
	refusals[4] = hypercall(HC_OUTPUT, OVM_IO_CONSOLE + 0x40, 0, 0).status;
	refusals[5] = hypercall(HC_READ_IO, 0, 0, 0).status;
	refusals[6] = hypercall(HC_REGISTER, 0, 0, 0).status;
}

/* After the measured lines: a line longer than the VM's share would hold up the short
 * ones behind it in its own queue. */
static void report_checks(void)
{
	gprintf("quiet: timer device count within the caller's own reads: %u/%u\n",
		COST_SAMPLES - cost_late, COST_SAMPLES);
	gprintf("quiet: refused: nodev=%d fault=%d rx=%d unaligned=%d badreg=%d read_io=%d "
		"register=%d\n",
		refusals[0], refusals[1], refusals[2], refusals[3], refusals[4], refusals[5],
		refusals[6]);
}

static void quiet(u32 jobs)
{
	static const char text[] = "quiet 000\n";

	arm_timer();
	while (!timer_fired && now_ticks() < timer_due + us_to_ticks(TIMER_WAIT_US))
		;
	for (u32 job = 0; job < jobs; job++) {
		if (job == 1)
			check_refusals();
		if (job == 2)
			measure_cost();
		for (u32 i = 0; i < sizeof(text) - 1; i++) {
			char c = text[i];
			if (i >= 6 && i <= 8)
				c = (char)('0' + (job / (i == 6 ? 100 : i == 7 ? 10 : 1)) % 10);
			console_put(c);
		}
		job_done();
	}
	u32 delay = console_stat(OVM_CONSOLE_MAX_DELAY);
	u32 throttled = console_stat(OVM_CONSOLE_THROTTLED);
	report_checks();
	gprintf("quiet: lines=%u line_bytes=%u max_delay_ticks=%u (%u us) throttled=%u\n", jobs,
		(u32)sizeof(text) - 1, delay, ticks_to_us(delay), throttled);
	quiet_record(jobs, sizeof(text) - 1, delay, throttled);
	gprintf("quiet: timer device fired=%u late_ticks=%u\n", timer_fired,
		timer_fired ? (u32)(timer_seen - timer_due) : 0);
	record_series("io_cost.ovm_proxy", "ticks", cost, COST_SAMPLES);
}

void guest_main(u32 vcpu_id, u32 vcpu_count, u32 mode, u32 jobs)
{
	(void)vcpu_id;
	(void)vcpu_count;
	platform_init();
	irqs_on();
	if (!jobs)
		jobs = DEFAULT_JOBS;
	if (mode)
		chatty(jobs);
	else
		quiet(jobs);
	for (u32 job = 0;; job++) {
		if (job % ALIVE_EVERY == 0)
			gprintf("%s: alive %u\n", mode ? "chatty" : "quiet", job / ALIVE_EVERY);
		job_done();
	}
}
