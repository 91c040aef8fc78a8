/*
 * A device access from a guest: passthrough, or its refusal. The guest reads
 * and writes one register of the device at arg0 (offset arg1) directly. An
 * HRT VM given the device in its scenario reaches it with no OVM instruction
 * on the path (OVM's entries on the core are counted around the accesses);
 * any other VM faults, as it does on the page below the device (on the
 * boards here, the console UART that OVM keeps). Asking OVM to write it
 * instead (HC_OUTPUT) is refused to every VM: such a device is never OVM's.
 * Then it times single reads of the register (io_cost.passthrough, timer
 * ticks per read, less the cost of reading the time).
 * Arguments: device base address, register offset (read/write, e.g. a baud divisor).
 */
#include "guest.h"
#include "records.h"

#define ACCESSES 100
#define PATTERN 0x1bu
#define COST_SAMPLES 100

static u32 cost[COST_SAMPLES];

static void measure_cost(u32 addr)
{
	u32 overhead = time_read_overhead();

	for (u32 i = 0; i < COST_SAMPLES; i++) {
		u64 t0 = now_ticks();
		(void)mmio_read(addr);
		u64 t1 = now_ticks();
		cost[i] = (u32)(t1 - t0) - overhead;
	}
	record_series("io_cost.passthrough", "ticks", cost, COST_SAMPLES);
}

static struct hc_result core_stats(u32 core)
{
	return hypercall(HC_CORE_STATS, core, 0, 0);
}

void guest_main(u32 vcpu_id, u32 vcpu_count, u32 device, u32 reg)
{
	(void)vcpu_id;
	(void)vcpu_count;
	platform_init();
	u32 core = hypercall(HC_VCPU_INFO, 0, 0, 0).r3;
	u32 value;
	bool mapped = guest_probe_read(device + reg, &value);
	bool below = guest_probe_read(device - 0x1000, &value);
	gprintf("device %p: %s; page below it: %s; output through OVM -> %d\n",
		(void *)(uintptr_t)device, mapped ? "mapped" : "fault", below ? "mapped" : "fault",
		hypercall(HC_OUTPUT, device + reg, 0, 0).status);
	if (!mapped)
		return;

	u32 saved = mmio_read(device + reg);
	struct hc_result before = core_stats(core);
	u64 start = now_ticks();
	u32 matched = 0;
	for (u32 i = 0; i < ACCESSES; i++) {
		mmio_write(device + reg, PATTERN + (i & 7));
		matched += mmio_read(device + reg) == PATTERN + (i & 7);
	}
	u64 ticks = now_ticks() - start;
	struct hc_result after = core_stats(core);
	mmio_write(device + reg, saved);
	/* The second core_stats call is itself an entry: it is not part of the accesses. */
	gprintf("device %p: %u/%u write+read pairs read back; OVM entries meanwhile: smc %u fiq %u "
		"irq %u; %u ticks for %u pairs\n",
		(void *)(uintptr_t)device, matched, ACCESSES, after.r1 - before.r1 - 1,
		after.r2 - before.r2, after.r3 - before.r3, (u32)ticks, ACCESSES);
	measure_cost(device + reg);
}
