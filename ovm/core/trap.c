/*
 * An SMC into the monitor. From a supervisor-mode guest it is a hypercall.
 * From a user-mode guest it is its shim passing on an exception: a hypercall
 * (SVC), or a fault, which goes back to the guest's own fault entry, or halts
 * the vCPU when it has none. Nothing a user-mode guest does reaches OVM any
 * other way.
 */
#include <arch/arch.h>
#include <core/console.h>
#include <core/hypercall.h>
#include <core/vm.h>

static const char *const fault_names[] = {
	[OVM_FAULT_UNDEFINED] = "undefined instruction",
	[OVM_FAULT_PREFETCH_ABORT] = "prefetch abort",
	[OVM_FAULT_DATA_ABORT] = "data abort",
};

void vcpu_halt(struct vcpu *vcpu, const char *why, u32 where)
{
	struct cpu *cpu = &cpus[vcpu->core];

	spin_lock(&cpu->lock);
	if (!vcpu->halted) {
		vcpu->halted = true;
		sched_block(&cpu->rq, &vcpu->se, arch_now());
	}
	spin_unlock(&cpu->lock);
	console_printf("[ovm] vm%u %s vcpu%u: %s at %p: halted\n", vcpu->vm->id,
		       vcpu->vm->config->name, vcpu->id, why, (void *)(uintptr_t)where);
	core_kick(vcpu->core);
}

static void trap(struct vcpu *vcpu, struct arch_regs *regs)
{
	struct arch_fault fault;

	if (!vcpu->upcall.user) {
		hypercall_dispatch(vcpu);
		return;
	}
	switch (arch_user_trap(regs, &fault)) {
	case ARCH_TRAP_HYPERCALL:
		hypercall_dispatch(vcpu);
		return;
	case ARCH_TRAP_FAULT:
		vcpu->faults++;
		if (vcpu->upcall.fault_entry)
			arch_upcall_fault(regs, &vcpu->upcall, &fault);
		else
			vcpu_halt(vcpu, fault_names[fault.kind], fault.pc);
		return;
	default:
		vcpu_halt(vcpu, "an exception OVM's shim does not pass on", regs->pc);
		return;
	}
}

struct arch_regs *core_smc(struct arch_regs *regs)
{
	struct vcpu *vcpu = vcpu_of_regs(regs);
	/* The caller's core, known without asking the CPU: a vCPU runs only on its own. */
	struct cpu *cpu = &cpus[vcpu->core];

	cpu->entries[ENTRY_SMC]++;
	trap(vcpu, regs);
	return core_exit_hypercall(cpu);
}
