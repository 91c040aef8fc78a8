/*
 * NRT: the management guest (the host) and a throughput load. It lists
 * OVM's VMs, vCPUs and cores with the host-only `info` hypercall, then
 * counts loop iterations and reports its progress once per second of time
 * (and lists again every minute, or as often as its argument says),
 * taking whatever the SRT guests leave of the core.
 */
#include "guest.h"
#include "periph.h"

static struct ovm_info info;

/*
 * Core 0's watchdog in timer mode: a device whose interrupt OVM routes to this
 * VM. Its period is longer than an SRT job, so a deferred interrupt is not
 * mistaken for the next one, and not a multiple of the SRT period, so some
 * arrive while this vCPU runs.
 */
#define WDT_PERIOD_US 1300
#define WDT_INTERRUPTS 20
/* Slower than this, an interrupt waited for the vCPU's next dispatch. */
#define IMMEDIATE_US 20

static u32 wdt_load;
static volatile u32 wdt_taken, wdt_immediate, vtimer_taken;
static u32 wdt_latency_max;
static u64 vtimer_at, vtimer_seen;

void guest_irq(void)
{
	for (;;) {
		u32 id = hypercall(HC_IRQ_ACK, 0, 0, 0).r1;
		if (id == OVM_IRQ_NONE)
			return;
		if (id == IRQ_WATCHDOG) {
			u32 latency = wdt_load - core_timer_read(WDT_BASE, TIMER_COUNTER);
			core_timer_write(WDT_BASE, TIMER_ISR, 1);
			wdt_taken++;
			wdt_immediate += latency < us_to_ticks(IMMEDIATE_US);
			if (latency > wdt_latency_max)
				wdt_latency_max = latency;
		} else if (id == OVM_VIRQ_TIMER) {
			vtimer_seen = now_ticks();
			vtimer_taken++;
		}
		hypercall(HC_IRQ_EOI, id, 0, 0);
	}
}

/*
 * Interrupt routing and scheduling, seen from the guest: the watchdog's
 * interrupt comes at once while this vCPU holds the core and waits for its
 * next dispatch while the SRT guest runs; OVM's virtual timer fires once.
 */
static void check_interrupts(void)
{
	vtimer_at = now_ticks() + us_to_ticks(3000);
	hypercall(HC_VTIMER_SET, (u32)vtimer_at, (u32)(vtimer_at >> 32), 0);
	wdt_load = (u32)us_to_ticks(WDT_PERIOD_US) - 1;
	core_timer_write(WDT_BASE, TIMER_LOAD, wdt_load);
	core_timer_write(WDT_BASE, TIMER_CONTROL, TIMER_ENABLE_AUTO_IRQ);
	while (wdt_taken < WDT_INTERRUPTS || !vtimer_taken)
		;
	core_timer_write(WDT_BASE, TIMER_CONTROL, 0);
	gprintf("routed irq %u: %u taken, %u at once, %u after waiting for dispatch "
		"(longest %u us); virtual timer fired %u time(s), %u us late\n",
		IRQ_WATCHDOG, wdt_taken, wdt_immediate, wdt_taken - wdt_immediate,
		ticks_to_us(wdt_latency_max), vtimer_taken, ticks_to_us(vtimer_seen - vtimer_at));
}

static const char *const levels[] = { "HRT", "SRT", "NRT" };
static const char *const states[] = { "running", "runnable", "waiting", "blocked", "throttled",
				      "halted" };

static void print_info(void)
{
	s32 status = hypercall(HC_INFO, (u32)(uintptr_t)&info, sizeof(info), 0).status;
	if (status != OVM_OK) {
		gprintf("info -> %d\n", status);
		return;
	}
	for (u32 i = 0; i < info.vm_count; i++) {
		const struct ovm_info_vm *vm = &info.vms[i];
		gprintf("info: vm %u %s level %s cores 0x%x memory %p size 0x%x vcpus %u\n", i,
			vm->name, levels[vm->level], vm->core_mask, (void *)(uintptr_t)vm->mem_base,
			vm->mem_size, vm->vcpus);
	}
	for (u32 i = 0; i < info.vcpu_count; i++) {
		const struct ovm_info_vcpu *v = &info.vcpus[i];
		gprintf("info: vcpu %u vm %u.%u core %u %s misses %u jobs %u rt %u/%u/%u us "
			"overruns %u\n",
			i, v->vm, v->id, v->core, states[v->state], v->misses, v->jobs_done,
			v->deadline_us, v->period_us, v->budget_us, v->overruns);
	}
	for (u32 c = 0; c < info.core_count; c++) {
		const struct ovm_info_core *core = &info.cores[c];
		gprintf("info: core %u level %s %s run %u wait %u entries smc %u fiq %u irq %u\n", c,
			levels[core->level], core->ticking ? "ticking" : "no-tick", core->run_queue,
			core->wait_queue, core->entries_smc, core->entries_fiq, core->entries_irq);
	}
}

/* Argument 0: if not 0, run the interrupt check that many ms after start-up. Argument 1:
 * seconds between lists (default 60). */
void guest_main(u32 vcpu_id, u32 vcpu_count, u32 check_irqs_after_ms, u32 info_every_s)
{
	(void)vcpu_id;
	(void)vcpu_count;
	if (!info_every_s)
		info_every_s = 60;
	platform_init();
	irqs_on();

	gprintf("bad calls refused: info out of grant -> %d, info short buffer -> %d, "
		"set_realtime_info from NRT -> %d, eoi never acked -> %d, stats of core 99 -> %d\n",
		hypercall(HC_INFO, 0x100, sizeof(info), 0).status,
		hypercall(HC_INFO, (u32)(uintptr_t)&info, 4, 0).status,
		hypercall(HC_SET_REALTIME_INFO, 1000, 1000, 100).status,
		hypercall(HC_IRQ_EOI, 40, 0, 0).status, hypercall(HC_CORE_STATS, 99, 0, 0).status);
	print_info();
	if (check_irqs_after_ms) {
		u64 start = now_ticks();
		while (now_ticks() - start < us_to_ticks(check_irqs_after_ms * 1000u))
			;
		check_interrupts();
	}

	u64 second = us_to_ticks(1000000);
	u64 next = now_ticks() + second;
	u32 iterations = 0;
	for (u32 report = 1;; iterations++) {
		if ((iterations & 0xfff) || now_ticks() < next)
			continue;
		gprintf("progress %u: %u iterations in the last second\n", report, iterations);
		if (report % info_every_s == 0)
			print_info();
		report++;
		iterations = 0;
		next += second;
	}
}
