/*
 * NRT I/O through the host (host proxy): every input/output of this VM is
 * queued for the host, which emulates the device (OVM_IO_HOSTDEV); the vCPU
 * waits, then resumes with the host's result and OVM_VIRQ_IO. Checks the
 * device's results and what must be refused, times the read path
 * (io_cost.host_proxy, timer ticks per call), then reads the device's ID
 * forever, printing a line every 100 ms so the lab sees it alive.
 *
 * With arg0 = 1 each read of the forever loop is an ACCUM write of 1 and a read
 * of ACCUM instead, which must have grown by exactly 1: a request the host lost
 * would hang the guest, one it applied twice would show as a mismatch. Each alive
 * line is then followed by "nrt: accum <value> mismatches <count>".
 */
#include "guest.h"
#include "records.h"

#define COST_SAMPLES 100
#define ALIVE_EVERY_US 100000

static volatile u32 io_interrupts;
static u32 cost[COST_SAMPLES];

void guest_irq(void)
{
	for (;;) {
		u32 id = hypercall(HC_IRQ_ACK, 0, 0, 0).r1;
		if (id == OVM_IRQ_NONE)
			return;
		if (id == OVM_VIRQ_IO)
			io_interrupts++;
		hypercall(HC_IRQ_EOI, id, 0, 0);
	}
}

static struct hc_result device_read(u32 reg)
{
	return hypercall(HC_INPUT, OVM_IO_HOSTDEV + reg, 0, 0);
}

static s32 device_write(u32 reg, u32 value)
{
	return hypercall(HC_OUTPUT, OVM_IO_HOSTDEV + reg, value, 0).status;
}

static void check_device(void)
{
	struct hc_result id = device_read(OVM_HOSTDEV_ID);
	s32 scratch_write = device_write(OVM_HOSTDEV_SCRATCH, 0x1234abcdu);
	struct hc_result scratch = device_read(OVM_HOSTDEV_SCRATCH);
	u32 want = 0;
	for (u32 i = 1; i <= 10; i++) {
		device_write(OVM_HOSTDEV_ACCUM, i);
		want += i;
	}
	struct hc_result accum = device_read(OVM_HOSTDEV_ACCUM);
	gprintf("nrt: hostdev id=%d/0x%x scratch=%d/%d/0x%x accum=%d/%u want=%u interrupts=%u\n",
		id.status, id.r1, scratch_write, scratch.status, scratch.r1, accum.status, accum.r1,
		want, io_interrupts);
	s32 write_id = device_write(OVM_HOSTDEV_ID, 1);
	s32 unknown_reg = device_read(0x20).status;
	s32 console = hypercall(HC_INPUT, OVM_IO_CONSOLE + OVM_CONSOLE_PENDING, 0, 0).status;
	s32 timer = hypercall(HC_OUTPUT, OVM_IO_TIMER + OVM_TIMER_COMPARE_HI, 0, 0).status;
	s32 write_io = hypercall(HC_WRITE_IO, 0, 0, 0).status;
	gprintf("nrt: refused: write_id=%d unknown_reg=%d console=%d timer=%d write_io=%d\n",
		write_id, unknown_reg, console, timer, write_io);
}

static void measure_cost(void)
{
	u32 overhead = time_read_overhead();
	u32 right = 0;

	for (u32 i = 0; i < COST_SAMPLES; i++) {
		u64 t0 = now_ticks();
		struct hc_result id = device_read(OVM_HOSTDEV_ID);
		u64 t1 = now_ticks();
		right += id.status == OVM_OK && id.r1 == OVM_HOSTDEV_MAGIC;
		cost[i] = (u32)(t1 - t0) - overhead;
	}
	gprintf("nrt: %u/%u timed reads right\n", right, COST_SAMPLES);
	record_series("io_cost.host_proxy", "ticks", cost, COST_SAMPLES);
}

/* One ACCUM step: add 1, read it back; true if it is exactly one more than *accum. */
static bool accum_step(u32 *accum)
{
	device_write(OVM_HOSTDEV_ACCUM, 1);
	struct hc_result r = device_read(OVM_HOSTDEV_ACCUM);
	bool right = r.status == OVM_OK && r.r1 == *accum + 1;
	*accum = r.r1;
	return right;
}

void guest_main(u32 vcpu_id, u32 vcpu_count, u32 arg0, u32 arg1)
{
	(void)vcpu_id;
	(void)vcpu_count;
	(void)arg1;
	bool accumulate = arg0 == 1;
	platform_init();
	irqs_on();
	check_device();
	measure_cost();
	u32 accum = accumulate ? device_read(OVM_HOSTDEV_ACCUM).r1 : 0, mismatches = 0;
	u64 next = now_ticks();
	for (u32 n = 0;; n++) {
		u32 reads = 0;
		while (now_ticks() < next) {
			if (accumulate && accum_step(&accum))
				reads++;
			else if (accumulate)
				mismatches++;
			else
				reads += device_read(OVM_HOSTDEV_ID).r1 == OVM_HOSTDEV_MAGIC;
		}
		gprintf("nrt: alive %u (%u reads)\n", n, reads);
		if (accumulate)
			gprintf("nrt: accum %u mismatches %u\n", accum, mismatches);
		/* After a long wait for the host, one line, not one per 100 ms missed. */
		u64 now = now_ticks();
		next += us_to_ticks(ALIVE_EVERY_US);
		if (next < now)
			next = now + us_to_ticks(ALIVE_EVERY_US);
	}
}
