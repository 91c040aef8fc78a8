/* VMs, their vCPUs, and the physical cores that run them. All statically allocated. */
#ifndef CORE_VM_H
#define CORE_VM_H

#include <arch/arch.h>
#include <core/config.h>
#include <core/sched.h>
#include <core/virq.h>
#include <lib/types.h>

#define OVM_MAX_VCPUS (OVM_MAX_VMS * OVM_MAX_CORES)

struct vm {
	const struct vm_config *config;
	u32 id;
	u32 vcpu_count;
	bool console_at_line_start;
};

struct irq_lines;

struct vcpu {
	/* First member: monitor.S saves the guest straight into it. Then what its
	 * FIQ fast path reads next to the frame (core/irq_layout.h). */
	struct arch_regs regs;
	struct virq virq;
	struct irq_lines *lines;
	struct arch_context ctx;
	struct sched_entity se;
	struct vm *vm;
	u32 id;
	u32 core;
	/* Absolute tick of the vCPU's virtual timer; 0 when off. */
	u64 vtimer;
	u32 hypercalls;
};

struct cpu {
	struct runqueue rq;
	/* The vCPU whose registers the hardware holds now (also while the core idles). */
	struct vcpu *current;
	u32 entries[ENTRY_KINDS];
	/* OVM takes timer events here: every core but an HRT-occupied one. */
	bool ticking;
	u64 tick;
	u64 next_tick;
	u64 event_at;
};

extern struct cpu cpus[OVM_MAX_CORES];
extern struct vm vms[OVM_MAX_VMS];
extern struct vcpu vcpus[OVM_MAX_VCPUS];
extern u32 vcpu_count;

void vms_create(void);
/* When a job declared now is released: now, or the next tick when OVM ticks. */
u64 core_release_time(struct cpu *cpu);
/* First entry on a core: hand an HRT core over for good, start scheduling on the others. */
__attribute__((noreturn)) void core_start(u32 core);
struct cpu *this_cpu(void);

static inline struct vcpu *vcpu_of_regs(struct arch_regs *regs)
{
	return (struct vcpu *)regs;
}

static inline struct vcpu *vcpu_of_se(struct sched_entity *se)
{
	return (struct vcpu *)((u8 *)se - __builtin_offsetof(struct vcpu, se));
}

#endif
