/*
 * NRT: the management guest (the host) and a throughput load. It lists
 * OVM's VMs, vCPUs and cores with the host-only `info` hypercall, then
 * counts loop iterations and reports its progress once per second of time
 * (and lists again every minute),
 * taking whatever the SRT guests leave of the core.
 */
#include "guest.h"

static struct ovm_info info;

static const char *const levels[] = { "HRT", "SRT", "NRT" };
static const char *const states[] = { "running", "runnable", "waiting" };

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
		gprintf("info: vcpu %u vm %u.%u core %u %s misses %u jobs %u rt %u/%u/%u us\n", i,
			v->vm, v->id, v->core, states[v->state], v->misses, v->jobs_done,
			v->deadline_us, v->period_us, v->budget_us);
	}
	for (u32 c = 0; c < info.core_count; c++) {
		const struct ovm_info_core *core = &info.cores[c];
		gprintf("info: core %u level %s %s run %u wait %u entries smc %u fiq %u irq %u\n", c,
			levels[core->level], core->ticking ? "ticking" : "no-tick", core->run_queue,
			core->wait_queue, core->entries_smc, core->entries_fiq, core->entries_irq);
	}
}

void guest_main(u32 vcpu_id, u32 vcpu_count, u32 arg0, u32 arg1)
{
	(void)vcpu_id;
	(void)vcpu_count;
	(void)arg0;
	(void)arg1;
	platform_init();
	irqs_on();

	gprintf("bad calls refused: info out of grant -> %d, info short buffer -> %d, "
		"set_realtime_info from NRT -> %d, eoi never acked -> %d, stats of core 99 -> %d\n",
		hypercall(HC_INFO, 0x100, sizeof(info), 0).status,
		hypercall(HC_INFO, (u32)(uintptr_t)&info, 4, 0).status,
		hypercall(HC_SET_REALTIME_INFO, 1000, 1000, 100).status,
		hypercall(HC_IRQ_EOI, 40, 0, 0).status, hypercall(HC_CORE_STATS, 99, 0, 0).status);
	print_info();

	u64 second = us_to_ticks(1000000);
	u64 next = now_ticks() + second;
	u32 iterations = 0;
	for (u32 report = 1;; iterations++) {
		if ((iterations & 0xfff) || now_ticks() < next)
			continue;
		gprintf("progress %u: %u iterations in the last second\n", report, iterations);
		if (report % 60 == 0)
			print_info();
		report++;
		iterations = 0;
		next += second;
	}
}
