#include <arch/arch.h>
#include <core/console.h>
#include <core/vm.h>

/* Enough ticks to show the FIQ path works while guests run, few enough to stay quiet. */
#define TICKS_REPORTED 100

struct arch_regs *irq_dispatch(u32 irq, struct arch_regs *regs)
{
	struct vcpu *vcpu = vcpu_of_regs(regs);
	struct cpu *cpu = &cpus[vcpu->core];

	if (irq == arch_tick_irq()) {
		arch_tick_ack();
		if (++cpu->ticks == TICKS_REPORTED)
			console_printf("[ovm] core%u: %u timer FIQs taken in monitor mode while %s ran\n",
				       vcpu->core, cpu->ticks, vcpu->vm->config->name);
		return regs;
	}
	console_printf("[ovm] core%u: unrouted interrupt %u\n", vcpu->core, irq);
	return regs;
}
