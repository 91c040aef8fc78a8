/*
 * Interrupt routing and scheduling. Every routed line is OVM's (group 0) but
 * a supervisor-mode guest's (a trusted HRT VM's, a Linux VM's), which OVM
 * releases to it (group 1) and which never comes here: it takes them directly
 * while it holds its core, and at its next dispatch otherwise (switch_to). Each arrives here, is masked at the distributor until the
 * guest ends it, and becomes pending on the vCPU the routing table names.
 * The exit path injects it at once if that vCPU holds the core; otherwise it
 * waits for the vCPU's next dispatch.
 */
#include <arch/arch.h>
#include <arch/cpu.h>
#include <core/console.h>
#include <core/irq.h>
#include <core/vm.h>

struct irq_lines irq_lines[OVM_MAX_CORES];

void irq_routes_init(u32 core)
{
	arch_irq_fast_regs(&irq_lines[core].gicc, &irq_lines[core].gicd_icenabler);
	for (u32 i = 0; i < irq_route_count; i++) {
		const struct irq_route *route = &irq_routes[i];
		const struct vm_config *vm = &vm_configs[route->vm];
		if (route->core != core)
			continue;
		if (vm->privilege == PRIVILEGE_KERNEL) {
			arch_irq_release(route->irq, core);
			continue;
		}
		if (route->irq >= VIRQ_HW_LINES) {
			console_printf("[ovm] core%u: irq %u not routable (lines 0-%u)\n", core, route->irq,
				       VIRQ_HW_LINES - 1);
			continue;
		}
		for (u32 v = 0; v < vcpu_count; v++)
			if (vcpus[v].vm->id == route->vm && vcpus[v].id == route->vcpu)
				irq_lines[core].targets[route->irq] = &vcpus[v];
		arch_irq_claim(route->irq, core);
	}
}

void irq_dispatch(u32 irq)
{
	struct cpu *cpu = this_cpu();
	u32 core = cpu_id();

	if (irq == arch_event_timer_irq()) {
		arch_event_timer_ack();
		cpu->event_at = SCHED_NEVER;
		return;
	}
	/* Another core changed our queues: the exit path that follows looks at them. */
	if (irq == arch_kick_irq())
		return;
	struct vcpu *target = irq < VIRQ_HW_LINES ? irq_lines[core].targets[irq] : NULL;
	arch_irq_mask(irq);
	if (!target) {
		console_printf("[ovm] core%u: unrouted interrupt %u masked\n", core, irq);
		return;
	}
	virq_raise(&target->virq, irq);
}

bool irq_end(struct vcpu *vcpu, u32 id)
{
	if (!virq_eoi(&vcpu->virq, id))
		return false;
	if (id < VIRQ_HW_LINES)
		arch_irq_unmask(id);
	return true;
}
