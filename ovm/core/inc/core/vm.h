/* VMs, their vCPUs, and the physical cores that run them. All statically allocated. */
#ifndef CORE_VM_H
#define CORE_VM_H

#include <arch/arch.h>
#include <arch/spinlock.h>
#include <core/config.h>
#include <core/sched.h>
#include <core/virq.h>
#include <lib/types.h>

#define OVM_MAX_VCPUS (OVM_MAX_VMS * OVM_MAX_CORES)

/* A VM's slot in vms[]: configured at build time, or given by `register` (NULL config: free). */
struct vm {
	const struct vm_config *config;
	u32 id;
	u32 vcpu_count;
	bool registered;
};

/* An NRT vCPU's input/output while the host serves it (host proxy). */
enum io_request_state {
	IO_NONE,
	/* Waiting for the host's read_io. */
	IO_QUEUED,
	/* The host has it; its write_io answers it. */
	IO_TAKEN,
};

struct io_request {
	enum io_request_state state;
	bool write;
	u32 addr;
	u32 value;
	/* Queue order: read_io takes the oldest. */
	u32 seq;
};

struct irq_lines;

/* The VM declares fpu: VFP/NEON granted and switched. */
#define VCPU_EXTRA_FPU BIT(0)
/* A supervisor-mode vCPU: its lines are direct (group 1), held while it is away. */
#define VCPU_EXTRA_DIRECT_IRQS BIT(1)

struct vcpu {
	/* First member: monitor.S saves the guest straight into it. Then what its
	 * FIQ fast path reads next to the frame (arch/armv7/asm_defs.c). */
	struct arch_regs regs;
	struct virq virq;
	struct irq_lines *lines;
	struct arch_upcall upcall;
	struct arch_context ctx;
	/* What a switch to or from it must do besides the registers (VCPU_EXTRA_*). */
	u8 extras;
	/* Used only with VCPU_EXTRA_FPU. */
	struct arch_fpu fpu;
	/* With VCPU_EXTRA_DIRECT_IRQS: its GIC priority mask while it does not hold the core. */
	u32 direct_irqs_mask;
	struct sched_entity se;
	struct vm *vm;
	u32 id;
	u32 core;
	/* Absolute tick of the vCPU's virtual timer; 0 when off. */
	u64 vtimer;
	u32 hypercalls;
	/* Faults of a user-mode guest upcalled to its fault entry. */
	u32 faults;
	/* Stopped for good: off the queues, never dispatched again. */
	bool halted;
	struct io_request io;
	/* Set (under the core's lock) when the host answered: the owning core raises OVM_VIRQ_IO. */
	bool io_answered;
	/* The timer device's latched high word and staged comparator low word (OVM proxy). */
	u32 io_timer_hi;
	u32 io_compare_lo;
};

struct cpu {
	/* Guards rq and the timing fields: the core itself, and another core that
	 * registers a VM here or answers a vCPU's I/O, take it. Never two at once,
	 * except `register`, in ascending core order. */
	spinlock_t lock;
	struct runqueue rq;
	/* The vCPU whose registers the hardware holds now (also while the core idles). */
	struct vcpu *current;
	u32 entries[ENTRY_KINDS];
	/* OVM takes timer events here: every core but an HRT-occupied one. */
	bool ticking;
	/* No vCPU yet: it serves the console while it waits for one. */
	volatile bool idle;
	/* A hypercall changed this core's queues or timers: schedule before returning. */
	bool resched;
	u64 tick;
	u64 next_tick;
	u64 event_at;
};

extern struct cpu cpus[OVM_MAX_CORES];
extern struct vm vms[OVM_MAX_VMS];
extern struct vcpu vcpus[OVM_MAX_VCPUS];
extern volatile u32 vcpu_count;

void vms_create(void);
/* HC_REGISTER: check a VM configuration, admit it, start it. An OVM status; *id = the VM's id. */
s32 vm_register(const struct ovm_vm_request *request, u32 *id);
/* Keep the VM and vCPU tables still (no `register` meanwhile), or let them go. Taken
 * before any core's lock. */
void vms_hold(bool hold);
/* After changing a core's queues or a vCPU's timer: make that core schedule again
 * (this one on its way out of the hypercall, another by an SGI). */
void core_kick(u32 core);
/* After a hypercall on this core: the caller again at once, unless the call changed
 * what runs. */
struct arch_regs *core_exit_hypercall(struct cpu *cpu);
/* HC_VM_EXIT's common case, the running vCPU's job done on time: done and switched
 * away, true; false, nothing changed, for the full pass. */
bool core_vm_exit_fast(struct vcpu *vcpu);
/* A guest's console line waits for a round: make sure a core will serve it. */
void core_console_waiting(void);
/* When a job declared now is released: now, or the next tick when OVM ticks. */
u64 core_release_time(struct cpu *cpu);
/* First entry on a core: hand an HRT core over for good, start scheduling on the others. */
__attribute__((noreturn)) void core_start(u32 core);
struct cpu *this_cpu(void);
/* Stop a vCPU for good (a fault it has no entry for): off its core's queues; says why. */
void vcpu_halt(struct vcpu *vcpu, const char *why, u32 where);

static inline struct vcpu *vcpu_of_regs(struct arch_regs *regs)
{
	return (struct vcpu *)regs;
}

static inline struct vcpu *vcpu_of_se(struct sched_entity *se)
{
	return (struct vcpu *)((u8 *)se - __builtin_offsetof(struct vcpu, se));
}

#endif
