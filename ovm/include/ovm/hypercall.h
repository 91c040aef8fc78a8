/*
 * OVM's hypercall ABI, shared by OVM and paravirtual guests.
 * A guest issues `smc #0` with r0 = index into OVM's handler table and
 * arguments in r1-r3; OVM returns a status in r0 (OVM_OK or a negative
 * error) and results in r1-r3. Every other register is preserved.
 * Times are in microseconds unless named ticks (the global timer's count,
 * which guests may read themselves).
 */
#ifndef OVM_HYPERCALL_H
#define OVM_HYPERCALL_H

#define OVM_ABI_VERSION 2

enum ovm_hypercall {
	/* r1 = value; returns r1 = value + 1 and r2 = OVM_ABI_VERSION. */
	HC_PING = 0,
	/* r1 = address, r2 = length (at most HC_CONSOLE_MAX) of text in the caller's memory. */
	HC_CONSOLE_WRITE = 1,
	/* Returns r1 = VM id, r2 = vCPU id within the VM, r3 = physical core. */
	HC_VCPU_INFO = 2,
	/* r1 = relative deadline, r2 = period, r3 = execution time (budget), all in us.
	 * SRT only; admitted by the EDF test over the core's SRT set. The first job starts now. */
	HC_SET_REALTIME_INFO = 3,
	/* This period's job is done: wait for the next release. NRT: give up the slice. */
	HC_VM_EXIT = 4,
	/* Acknowledge the highest-priority pending virtual interrupt: r1 = its id, or
	 * OVM_IRQ_NONE. Call until OVM_IRQ_NONE, as with a GIC. */
	HC_IRQ_ACK = 5,
	/* r1 = an id from HC_IRQ_ACK, after the device's source is cleared: unmasks the line. */
	HC_IRQ_EOI = 6,
	/* r1, r2 = low, high word of an absolute global-timer tick count at which
	 * OVM_VIRQ_TIMER fires; 0, 0 cancels. */
	HC_VTIMER_SET = 7,
	/* Returns r1 = deadline misses so far, r2 = jobs completed, r3 = ticks between the
	 * last missed deadline and its detection. */
	HC_RT_STATUS = 8,
	/* r1 = core; returns r1, r2, r3 = OVM entries on that core by SMC, FIQ, IRQ. */
	HC_CORE_STATS = 9,
	/* Host only. r1 = address, r2 = size of a struct ovm_info in the caller's memory. */
	HC_INFO = 10,
	/* Returns r1 = timer clock in Hz (global and private timers), r2 = the Cortex-A9
	 * private region's address (GIC, timers), r3 = OVM's tick in us (0: tickless). */
	HC_PLATFORM_INFO = 11,
	HC_COUNT
};

#define HC_CONSOLE_MAX 256

/* Virtual interrupt ids beyond the GIC's: OVM's own sources. */
#define OVM_IRQ_NONE 1023
#define OVM_VIRQ_TIMER 1024
#define OVM_VIRQ_DEADLINE_MISS 1025

enum ovm_status {
	OVM_OK = 0,
	/* No hypercall has that index. */
	OVM_E_NOSYS = -1,
	/* The caller may not make that hypercall (host-only, or wrong level). */
	OVM_E_PERM = -2,
	/* An argument is out of its range. */
	OVM_E_INVAL = -3,
	/* An address range lies outside the caller's memory grant. */
	OVM_E_FAULT = -4,
	/* Admission refused: the core's SRT set would not be EDF-schedulable. */
	OVM_E_OVERLOAD = -5,
};

#define OVM_INFO_MAX_VMS 8
#define OVM_INFO_MAX_VCPUS 32
#define OVM_INFO_MAX_CORES 4

enum ovm_vcpu_state { OVM_VCPU_RUNNING = 0, OVM_VCPU_RUNNABLE = 1, OVM_VCPU_WAITING = 2 };

struct ovm_info_vm {
	char name[16];
	unsigned int level; /* 0 HRT, 1 SRT, 2 NRT */
	unsigned int core_mask;
	unsigned int mem_base;
	unsigned int mem_size;
	unsigned int vcpus;
};

struct ovm_info_vcpu {
	unsigned int vm;
	unsigned int id;
	unsigned int core;
	unsigned int state;
	unsigned int misses;
	unsigned int jobs_done;
	unsigned int deadline_us;
	unsigned int period_us;
	unsigned int budget_us;
};

struct ovm_info_core {
	unsigned int level; /* highest level any vCPU here needs */
	unsigned int ticking; /* OVM takes timer events on this core */
	unsigned int run_queue;
	unsigned int wait_queue;
	unsigned int entries_smc;
	unsigned int entries_fiq;
	unsigned int entries_irq;
};

struct ovm_info {
	unsigned int abi_version;
	unsigned int vm_count;
	unsigned int vcpu_count;
	unsigned int core_count;
	struct ovm_info_vm vms[OVM_INFO_MAX_VMS];
	struct ovm_info_vcpu vcpus[OVM_INFO_MAX_VCPUS];
	struct ovm_info_core cores[OVM_INFO_MAX_CORES];
};

#endif
