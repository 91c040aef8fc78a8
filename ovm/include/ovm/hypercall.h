/*
 * OVM's hypercall ABI, shared by OVM and paravirtual guests.
 * A guest in user mode (every SRT and NRT VM, an HRT VM with `privilege:
 * user`) issues `svc #0`, which OVM's shim passes on; a guest in supervisor
 * mode (an HRT VM with `privilege: kernel`) issues `smc #0`. Either way r0 =
 * index into OVM's handler table and arguments in r1-r3; OVM returns a status
 * in r0 (OVM_OK or a negative error) and results in r1-r3. Every other
 * register is preserved. Times are in microseconds unless named ticks (the
 * global timer's count, which guests may read themselves).
 */
#ifndef OVM_HYPERCALL_H
#define OVM_HYPERCALL_H

#define OVM_ABI_VERSION 4

enum ovm_hypercall {
	/* r1 = value; returns r1 = value + 1 and r2 = OVM_ABI_VERSION. */
	HC_PING = 0,
	/* r1 = address, r2 = length (at most HC_CONSOLE_MAX) of text in the caller's memory:
	 * queued whole in the VM's share of the console, as the console device's bytes are,
	 * or OVM_E_AGAIN with nothing queued while the VM is over its share (try again). */
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
	/* r1 = OVM_RT_MISSES: returns r1 = deadline misses so far, r2 = jobs completed,
	 * r3 = ticks between the last missed deadline and its detection.
	 * r1 = OVM_RT_BUDGET: returns r1 = overruns (jobs throttled for using up their budget
	 * before their deadline), r2 = budget used by the current job so far (ticks), r3 = 1
	 * while throttled. */
	HC_RT_STATUS = 8,
	/* r1 = core; returns r1, r2, r3 = OVM entries on that core by SMC, FIQ, IRQ. */
	HC_CORE_STATS = 9,
	/* Host only. r1 = address, r2 = size of a struct ovm_info in the caller's memory. */
	HC_INFO = 10,
	/* Returns r1 = timer clock in Hz (global and private timers), r2 = the Cortex-A9
	 * private region's address (GIC, timers), r3 = OVM's tick in us (0: tickless). */
	HC_PLATFORM_INFO = 11,
	/* r1 = address of a virtual device register (OVM_IO_*), r2 = value: an I/O write.
	 * Served by the caller's level: SRT (and the host) by OVM's device function, NRT
	 * by the host (the vCPU waits for the answer); HRT VMs touch their devices directly. */
	HC_OUTPUT = 12,
	/* r1 = address of a virtual device register; returns r1 = the value read. */
	HC_INPUT = 13,
	/* Host only. Takes the oldest queued request of an NRT guest: returns r1 = its vCPU
	 * (a global vCPU index, as in struct ovm_info) | OVM_IO_REQ_WRITE for a write,
	 * r2 = address, r3 = value written (0 for a read). OVM_E_AGAIN if none is queued. */
	HC_READ_IO = 14,
	/* Host only. r1 = vCPU from HC_READ_IO, r2 = result (the value read), r3 = status the
	 * guest's input/output returns (OVM_OK or a negative OVM_E_*). The guest resumes with
	 * them and gets OVM_VIRQ_IO. */
	HC_WRITE_IO = 15,
	/* Host only. r1 = address, r2 = size of a struct ovm_vm_request in the caller's
	 * memory: build and start a VM from one of the run-time images built into OVM, with
	 * the build tooling's checks and admission control. Returns r1 = the new VM's id. */
	HC_REGISTER = 16,
	/* User-mode guests. r1 = address of this vCPU's struct ovm_vcpu_area, r2 = the entry
	 * OVM upcalls for a virtual interrupt, r3 = the entry it upcalls for a fault (0: none,
	 * the vCPU is halted at its first fault), all word-aligned in the caller's memory.
	 * OVM then sets TPIDRURO to r1, so the guest finds its area there. Until then the
	 * vCPU takes no interrupt and a fault halts it. OVM_E_PERM from a supervisor-mode
	 * guest. */
	HC_UPCALL_SETUP = 17,
	/* After clearing ovm_vcpu_area.masked with .pending set: the waiting interrupt is
	 * upcalled on the way back. */
	HC_IRQ_RESUME = 18,
	/* r1 = a chunk of OVM's own code and the VMs' translation tables; returns r1 = 1 if
	 * it is as at boot, 0 if not, and r2 = the number of chunks. OVM_E_INVAL past them. */
	HC_SELF_CHECK = 19,
	HC_COUNT
};

/* HC_RT_STATUS's r1. */
#define OVM_RT_MISSES 0
#define OVM_RT_BUDGET 1

/*
 * A user-mode vCPU's page of state shared with OVM (HC_UPCALL_SETUP). Interrupts
 * reach the guest as upcalls: OVM saves where the guest was in pc and cpsr, sets
 * masked and resumes the guest at its interrupt entry, every register as it was.
 * The entry returns there and clears masked itself; if OVM has set pending
 * meanwhile (an interrupt came while masked), it then calls HC_IRQ_RESUME. A fault
 * (undefined instruction, aborts) is upcalled to the fault entry whatever masked
 * says, with fault_* filled. The pc fields have bit 0 set for Thumb code.
 */
struct ovm_vcpu_area {
	unsigned int masked; /* guest: nonzero masks virtual interrupts */
	unsigned int pending; /* OVM: an interrupt waits for the guest to unmask */
	unsigned int pc;
	unsigned int cpsr;
	unsigned int fault_kind; /* OVM_FAULT_* */
	unsigned int fault_pc;
	unsigned int fault_cpsr;
	unsigned int fault_addr; /* DFAR (data abort) or IFAR (prefetch abort) */
	unsigned int fault_status; /* DFSR or IFSR */
};

#define OVM_FAULT_UNDEFINED 1
#define OVM_FAULT_PREFETCH_ABORT 3
#define OVM_FAULT_DATA_ABORT 4

#define HC_CONSOLE_MAX 256

/* Virtual interrupt ids beyond the GIC's: OVM's own sources. */
#define OVM_IRQ_NONE 1023
#define OVM_VIRQ_TIMER 1024
#define OVM_VIRQ_DEADLINE_MISS 1025
/* A host-proxied input/output has its answer (the call has returned it). */
#define OVM_VIRQ_IO 1026

/*
 * Virtual devices: register addresses for HC_INPUT and HC_OUTPUT. No memory is
 * mapped there; a VM reaches a device only if its configuration grants it
 * (OVM_IO_GRANT_*), and only by the method of its level.
 */
/* OVM proxy: the console UART, shared by bandwidth: each VM gets a byte budget per
 * round and its lines go out whole, so a chatty VM cannot hold up another's line. */
#define OVM_IO_CONSOLE 0xfff00000u
/* write: queue one byte (OVM_E_AGAIN while the VM's queue is full: over its bandwidth).
 * read, host only: the next byte received, or OVM_CONSOLE_EMPTY. */
#define OVM_CONSOLE_DATA 0x0
/* read: bytes of the caller's output still queued. */
#define OVM_CONSOLE_PENDING 0x4
/* read: the longest a complete line of the caller has waited for the UART, in ticks. */
#define OVM_CONSOLE_MAX_DELAY 0x8
/* read: writes of the caller refused with OVM_E_AGAIN. */
#define OVM_CONSOLE_THROTTLED 0xc
#define OVM_CONSOLE_EMPTY 0x100u
/* OVM proxy: a timer. COUNT_LO reads the global timer's count and latches its high word
 * for COUNT_HI. COMPARE_LO stages a low word; writing COMPARE_HI arms OVM_VIRQ_TIMER at
 * that absolute tick (0, 0 cancels), as HC_VTIMER_SET does. */
#define OVM_IO_TIMER 0xfff01000u
#define OVM_TIMER_COUNT_LO 0x0
#define OVM_TIMER_COUNT_HI 0x4
#define OVM_TIMER_COMPARE_LO 0x8
#define OVM_TIMER_COMPARE_HI 0xc
/* Host proxy: a device the host emulates for NRT guests. ID reads OVM_HOSTDEV_MAGIC;
 * SCRATCH keeps what is written; ACCUM adds what is written and reads the sum. */
#define OVM_IO_HOSTDEV 0xfff10000u
#define OVM_HOSTDEV_ID 0x0
#define OVM_HOSTDEV_SCRATCH 0x4
#define OVM_HOSTDEV_ACCUM 0x8
#define OVM_HOSTDEV_MAGIC 0x54534f48u
/* OVM proxy for a core's own timers: the private timer and the watchdog (in timer mode
 * only) of the caller's core, with the hardware's register layout. Writes go to the
 * hardware after OVM's checks; reads may also be made directly, since user-mode guests
 * may read (never write) the page of the private region that holds them. */
#define OVM_IO_PTIMER 0xfff02000u
#define OVM_IO_WATCHDOG 0xfff03000u
#define OVM_TIMER_LOAD 0x0
#define OVM_TIMER_COUNTER 0x4
#define OVM_TIMER_CONTROL 0x8
#define OVM_TIMER_ISR 0xc
/* Every virtual device is one 4 KiB page of registers. */
#define OVM_IO_DEVICE_SIZE 0x1000u

/* Grants in a VM's configuration, by device. */
#define OVM_IO_GRANT_CONSOLE 0x1u
#define OVM_IO_GRANT_TIMER 0x2u
#define OVM_IO_GRANT_HOSTDEV 0x4u
#define OVM_IO_GRANT_PTIMER 0x8u
#define OVM_IO_GRANT_WATCHDOG 0x10u

/* In HC_READ_IO's r1: the request is a write. */
#define OVM_IO_REQ_WRITE 0x80000000u

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
	/* Admission refused: the core's SRT set would not be EDF-schedulable, or an HRT
	 * VM needs a core that is not empty. */
	OVM_E_OVERLOAD = -5,
	/* Nothing to take now (no queued I/O request), or over bandwidth: try again later. */
	OVM_E_AGAIN = -6,
	/* No such object: no request is waiting for that answer, no run-time image of that name. */
	OVM_E_NOENT = -7,
	/* In use or full: the VM name or the image's memory is taken, or OVM's tables are full. */
	OVM_E_BUSY = -8,
	/* The address is no virtual device, or the device is not served on this path. */
	OVM_E_NODEV = -9,
};

/* Bytes of a name in the structures below, with its terminating NUL. */
#define OVM_NAME_SIZE 16

/* HC_REGISTER's argument: a VM configuration, as a scenario file gives one. */
struct ovm_vm_request {
	char name[OVM_NAME_SIZE]; /* NUL-terminated; a lower-case letter, then a-z, 0-9, _ */
	char guest[OVM_NAME_SIZE]; /* a run-time image of the scenario */
	unsigned int level; /* 0 HRT, 1 SRT, 2 NRT */
	unsigned int core_mask;
	unsigned int mem_size; /* bytes: whole MiB, at most the image's memory */
	unsigned int deadline_us; /* SRT reservation; all three 0 for none */
	unsigned int period_us;
	unsigned int budget_us;
	unsigned int args[2];
	unsigned int io; /* OVM_IO_GRANT_* */
};

#define OVM_INFO_MAX_VMS 8
#define OVM_INFO_MAX_VCPUS 32
#define OVM_INFO_MAX_CORES 4

/* BLOCKED: waiting for the host's answer to an input/output. THROTTLED: an SRT job that
 * used up its budget, until its next release. HALTED: stopped by OVM for good (a fault
 * with no fault entry). */
enum ovm_vcpu_state {
	OVM_VCPU_RUNNING = 0,
	OVM_VCPU_RUNNABLE = 1,
	OVM_VCPU_WAITING = 2,
	OVM_VCPU_BLOCKED = 3,
	OVM_VCPU_THROTTLED = 4,
	OVM_VCPU_HALTED = 5,
};

struct ovm_info_vm {
	char name[OVM_NAME_SIZE];
	unsigned int id;
	unsigned int registered; /* started at run time by HC_REGISTER */
	unsigned int io; /* OVM_IO_GRANT_* */
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
	unsigned int overruns;
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
