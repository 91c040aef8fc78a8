/* VMs, their vCPUs, and the physical cores that run them. All statically allocated. */
#ifndef CORE_VM_H
#define CORE_VM_H

#include <arch/regs.h>
#include <core/config.h>
#include <lib/types.h>

#define OVM_MAX_VCPUS (OVM_MAX_VMS * OVM_MAX_CORES)

struct vm {
	const struct vm_config *config;
	u32 id;
	u32 vcpu_count;
	bool console_at_line_start;
};

struct vcpu {
	/* First member: monitor.S saves the guest straight into it. */
	struct arch_regs regs;
	struct vm *vm;
	u32 id;
	u32 core;
	u32 hypercalls;
};

struct cpu {
	struct vcpu *current;
	u32 ticks;
};

extern struct cpu cpus[OVM_MAX_CORES];

void vms_create(void);
struct vcpu *vcpu_first_on_core(u32 core);
static inline struct vcpu *vcpu_of_regs(struct arch_regs *regs)
{
	return (struct vcpu *)regs;
}

#endif
