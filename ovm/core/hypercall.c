/*
 * The hypercall table: r0 indexes it, each entry says who may call it. Every
 * argument comes from a guest and is checked before use; a bad one gets an
 * error code and changes nothing.
 */
#include <arch/arch.h>
#include <core/console.h>
#include <core/hypercall.h>
#include <core/io.h>
#include <core/irq.h>
#include <core/vm.h>
#include <lib/string.h>
#include <ovm/hypercall.h>

enum caller { ANY_GUEST, HOST_ONLY };

struct hypercall {
	const char *name;
	s32 (*handler)(struct vcpu *vcpu, u32 *args);
	enum caller allowed;
};

/* [addr, addr + len) lies inside the VM's memory, without wrapping. */
static bool in_grant(const struct vm *vm, u32 addr, u32 len)
{
	u32 base = vm->config->mem_base;
	u32 size = vm->config->mem_size;

	return addr >= base && addr - base <= size && len <= size - (addr - base);
}

static s32 hc_ping(struct vcpu *vcpu, u32 *args)
{
	(void)vcpu;
	args[1] = args[1] + 1;
	args[2] = OVM_ABI_VERSION;
	return OVM_OK;
}

static s32 hc_console_write(struct vcpu *vcpu, u32 *args)
{
	u32 addr = args[1], len = args[2];

	if (len > HC_CONSOLE_MAX)
		return OVM_E_INVAL;
	if (!in_grant(vcpu->vm, addr, len))
		return OVM_E_FAULT;
	return console_queue_write(vcpu->vm->id, (const char *)(uintptr_t)addr, len);
}

static s32 hc_vcpu_info(struct vcpu *vcpu, u32 *args)
{
	args[1] = vcpu->vm->id;
	args[2] = vcpu->id;
	args[3] = vcpu->core;
	return OVM_OK;
}

static s32 hc_set_realtime_info(struct vcpu *vcpu, u32 *args)
{
	u32 deadline = args[1], period = args[2], budget = args[3];

	if (vcpu->vm->config->level != LEVEL_SRT)
		return OVM_E_PERM;
	if (period > OVM_MAX_PERIOD_US)
		return OVM_E_INVAL;
	struct cpu *cpu = &cpus[vcpu->core];
	spin_lock(&cpu->lock);
	enum sched_status status = sched_set_realtime(
		&cpu->rq, &vcpu->se, core_release_time(cpu), arch_us_to_ticks(deadline),
		arch_us_to_ticks(period), arch_us_to_ticks(budget));
	spin_unlock(&cpu->lock);
	core_kick(vcpu->core);
	switch (status) {
	case SCHED_OK:
		return OVM_OK;
	case SCHED_E_OVERLOAD:
		return OVM_E_OVERLOAD;
	default:
		return OVM_E_INVAL;
	}
}

static s32 hc_vm_exit(struct vcpu *vcpu, u32 *args)
{
	(void)args;
	if (core_vm_exit_fast(vcpu))
		return OVM_OK;
	struct cpu *cpu = &cpus[vcpu->core];
	spin_lock(&cpu->lock);
	sched_job_done(&cpu->rq, &vcpu->se, arch_now());
	spin_unlock(&cpu->lock);
	core_kick(vcpu->core);
	return OVM_OK;
}

static s32 hc_irq_ack(struct vcpu *vcpu, u32 *args)
{
	args[1] = virq_ack(&vcpu->virq);
	return OVM_OK;
}

static s32 hc_irq_eoi(struct vcpu *vcpu, u32 *args)
{
	return irq_end(vcpu, args[1]) ? OVM_OK : OVM_E_INVAL;
}

static s32 hc_vtimer_set(struct vcpu *vcpu, u32 *args)
{
	if (vcpu->vm->config->level == LEVEL_HRT)
		return OVM_E_PERM;
	vcpu->vtimer = ((u64)args[2] << 32) | args[1];
	core_kick(vcpu->core);
	return OVM_OK;
}

static s32 hc_rt_status(struct vcpu *vcpu, u32 *args)
{
	const struct sched_entity *se = &vcpu->se;

	switch (args[1]) {
	case OVM_RT_MISSES:
		args[1] = se->misses;
		args[2] = se->jobs_done;
		args[3] = (u32)(se->last_miss_detected - se->last_miss_deadline);
		return OVM_OK;
	case OVM_RT_BUDGET:
		args[1] = se->overruns;
		args[2] = (u32)se->used;
		args[3] = se->throttled;
		return OVM_OK;
	default:
		return OVM_E_INVAL;
	}
}

static s32 hc_core_stats(struct vcpu *vcpu, u32 *args)
{
	(void)vcpu;
	u32 core = args[1];
	if (core >= board.cores)
		return OVM_E_INVAL;
	const struct cpu *cpu = &cpus[core];
	args[1] = cpu->entries[ENTRY_SMC];
	args[2] = cpu->entries[ENTRY_FIQ] + irq_lines[core].fast_deliveries;
	args[3] = cpu->entries[ENTRY_IRQ];
	return OVM_OK;
}

static s32 hc_platform_info(struct vcpu *vcpu, u32 *args)
{
	(void)vcpu;
	args[1] = board.private_timer_hz;
	args[2] = board.periph_base;
	args[3] = sched_config.tick_us;
	return OVM_OK;
}

static u32 vcpu_state(const struct vcpu *vcpu)
{
	if (vcpu->halted)
		return OVM_VCPU_HALTED;
	if (vcpu->se.state == SE_BLOCKED)
		return OVM_VCPU_BLOCKED;
	if (vcpu->se.throttled)
		return OVM_VCPU_THROTTLED;
	if (cpus[vcpu->core].current == vcpu)
		return OVM_VCPU_RUNNING;
	return vcpu->se.state == SE_WAITING ? OVM_VCPU_WAITING : OVM_VCPU_RUNNABLE;
}

static u32 ticks_to_us(u64 ticks)
{
	return (u32)(arch_ticks_to_ns(ticks) / 1000u);
}

static s32 hc_info(struct vcpu *vcpu, u32 *args)
{
	u32 addr = args[1], len = args[2];

	if (len < sizeof(struct ovm_info))
		return OVM_E_INVAL;
	if (!in_grant(vcpu->vm, addr, sizeof(struct ovm_info)))
		return OVM_E_FAULT;
	struct ovm_info *info = (struct ovm_info *)(uintptr_t)addr;
	memset(info, 0, sizeof(*info));
	vms_hold(true);
	info->abi_version = OVM_ABI_VERSION;
	info->vcpu_count = vcpu_count;
	info->core_count = board.cores;
	for (u32 id = 0; id < OVM_MAX_VMS && info->vm_count < OVM_INFO_MAX_VMS; id++) {
		const struct vm *vm = &vms[id];
		if (!vm->config)
			continue;
		struct ovm_info_vm *out = &info->vms[info->vm_count++];
		for (u32 c = 0; c + 1 < sizeof(out->name) && vm->config->name[c]; c++)
			out->name[c] = vm->config->name[c];
		out->id = id;
		out->registered = vm->registered;
		out->io = vm->config->io;
		out->level = vm->config->level;
		out->core_mask = vm->config->core_mask;
		out->mem_base = vm->config->mem_base;
		out->mem_size = vm->config->mem_size;
		out->vcpus = vm->vcpu_count;
	}
	for (u32 i = 0; i < vcpu_count && i < OVM_INFO_MAX_VCPUS; i++) {
		const struct vcpu *v = &vcpus[i];
		info->vcpus[i] = (struct ovm_info_vcpu){
			.vm = v->vm->id,
			.id = v->id,
			.core = v->core,
			.state = vcpu_state(v),
			.misses = v->se.misses,
			.jobs_done = v->se.jobs_done,
			.deadline_us = ticks_to_us(v->se.deadline),
			.period_us = ticks_to_us(v->se.period),
			.budget_us = ticks_to_us(v->se.budget),
			.overruns = v->se.overruns,
		};
	}
	for (u32 c = 0; c < board.cores && c < OVM_INFO_MAX_CORES; c++) {
		struct cpu *cpu = &cpus[c];
		spin_lock(&cpu->lock);
		info->cores[c] = (struct ovm_info_core){
			.level = cpu->rq.attached ? cpu->rq.level : LEVEL_NRT,
			.ticking = cpu->ticking,
			.run_queue = cpu->rq.nrun,
			.wait_queue = cpu->rq.nwait,
			.entries_smc = cpu->entries[ENTRY_SMC],
			.entries_fiq = cpu->entries[ENTRY_FIQ] + irq_lines[c].fast_deliveries,
			.entries_irq = cpu->entries[ENTRY_IRQ],
		};
		spin_unlock(&cpu->lock);
	}
	vms_hold(false);
	arch_dcache_clean_range(addr, sizeof(*info));
	return OVM_OK;
}

static s32 hc_output(struct vcpu *vcpu, u32 *args)
{
	u32 unused;

	return io_access(vcpu, args[1], true, args[2], &unused);
}

static s32 hc_input(struct vcpu *vcpu, u32 *args)
{
	u32 value = 0;
	s32 status = io_access(vcpu, args[1], false, 0, &value);

	if (status == OVM_OK)
		args[1] = value;
	return status;
}

static s32 hc_read_io(struct vcpu *vcpu, u32 *args)
{
	(void)vcpu;
	return io_take_request(&args[1], &args[2], &args[3]);
}

static s32 hc_write_io(struct vcpu *vcpu, u32 *args)
{
	(void)vcpu;
	return io_answer(args[1], args[2], args[3]);
}

static s32 hc_register(struct vcpu *vcpu, u32 *args)
{
	u32 addr = args[1], len = args[2], id = 0;

	if (len != sizeof(struct ovm_vm_request))
		return OVM_E_INVAL;
	if (!in_grant(vcpu->vm, addr, len))
		return OVM_E_FAULT;
	s32 status = vm_register((const struct ovm_vm_request *)(uintptr_t)addr, &id);
	if (status == OVM_OK)
		args[1] = id;
	return status;
}

/* An entry point: a word-aligned address of the caller's own memory. */
static bool own_entry(const struct vm *vm, u32 addr)
{
	return addr % 4 == 0 && in_grant(vm, addr, 4);
}

static s32 hc_upcall_setup(struct vcpu *vcpu, u32 *args)
{
	u32 area = args[1], irq_entry = args[2], fault_entry = args[3];

	if (!vcpu->upcall.user)
		return OVM_E_PERM;
	if (area % 4 || !in_grant(vcpu->vm, area, sizeof(struct ovm_vcpu_area)) ||
	    !own_entry(vcpu->vm, irq_entry) || (fault_entry && !own_entry(vcpu->vm, fault_entry)))
		return OVM_E_FAULT;
	arch_upcall_setup(&vcpu->upcall, &vcpu->ctx, area, irq_entry, fault_entry);
	return OVM_OK;
}

/* Nothing to do here: the way back out of OVM delivers what waits. */
static s32 hc_irq_resume(struct vcpu *vcpu, u32 *args)
{
	(void)vcpu;
	(void)args;
	return OVM_OK;
}

static s32 hc_self_check(struct vcpu *vcpu, u32 *args)
{
	(void)vcpu;
	return self_check(args[1], &args[1], &args[2]);
}

static const struct hypercall hypercalls[HC_COUNT] = {
	[HC_PING] = { "ping", hc_ping, ANY_GUEST },
	[HC_CONSOLE_WRITE] = { "console_write", hc_console_write, ANY_GUEST },
	[HC_VCPU_INFO] = { "vcpu_info", hc_vcpu_info, ANY_GUEST },
	[HC_SET_REALTIME_INFO] = { "set_realtime_info", hc_set_realtime_info, ANY_GUEST },
	[HC_VM_EXIT] = { "vm_exit", hc_vm_exit, ANY_GUEST },
	[HC_IRQ_ACK] = { "irq_ack", hc_irq_ack, ANY_GUEST },
	[HC_IRQ_EOI] = { "irq_eoi", hc_irq_eoi, ANY_GUEST },
	[HC_VTIMER_SET] = { "vtimer_set", hc_vtimer_set, ANY_GUEST },
	[HC_RT_STATUS] = { "rt_status", hc_rt_status, ANY_GUEST },
	[HC_CORE_STATS] = { "core_stats", hc_core_stats, ANY_GUEST },
	[HC_INFO] = { "info", hc_info, HOST_ONLY },
	[HC_PLATFORM_INFO] = { "platform_info", hc_platform_info, ANY_GUEST },
	[HC_OUTPUT] = { "output", hc_output, ANY_GUEST },
	[HC_INPUT] = { "input", hc_input, ANY_GUEST },
	[HC_READ_IO] = { "read_io", hc_read_io, HOST_ONLY },
	[HC_WRITE_IO] = { "write_io", hc_write_io, HOST_ONLY },
	[HC_REGISTER] = { "register", hc_register, HOST_ONLY },
	[HC_UPCALL_SETUP] = { "upcall_setup", hc_upcall_setup, ANY_GUEST },
	[HC_IRQ_RESUME] = { "irq_resume", hc_irq_resume, ANY_GUEST },
	[HC_SELF_CHECK] = { "self_check", hc_self_check, ANY_GUEST },
};

/* Once per vCPU, out of the way of the calls that follow. */
static __attribute__((noinline)) void say_first(const struct vcpu *vcpu)
{
	console_printf("[ovm] core%u: first SMC from %s vcpu%u (non-secure cpsr=0x%x), "
		       "handled in monitor mode\n",
		       vcpu->core, vcpu->vm->config->name, vcpu->id, vcpu->regs.cpsr);
}

void hypercall_dispatch(struct vcpu *vcpu)
{
	struct arch_regs *regs = &vcpu->regs;
	u32 index = regs->r[0];

	if (vcpu->hypercalls++ == 0)
		say_first(vcpu);
	if (index >= HC_COUNT || !hypercalls[index].handler) {
		regs->r[0] = (u32)OVM_E_NOSYS;
		return;
	}
	const struct hypercall *hc = &hypercalls[index];
	if (hc->allowed == HOST_ONLY && !vcpu->vm->config->host) {
		regs->r[0] = (u32)OVM_E_PERM;
		return;
	}
	s32 status = hc->handler(vcpu, regs->r);
	/* A blocked vCPU's r0 is the host's to write (write_io), maybe already done. */
	if (status != IO_BLOCKED)
		regs->r[0] = (u32)status;
}
