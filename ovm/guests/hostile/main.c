/*
 * A hostile NRT guest: it tries every way out of its VM that the non-secure
 * world offers a user-mode guest, and reports what each try did. Whether it
 * got anywhere is judged by others: its neighbours' deadlines and canaries,
 * and OVM's own integrity check (HC_SELF_CHECK), not by this report.
 * - CP15: its own translation table (TTBR0/TTBR1/TTBCR), the MMU off (SCTLR),
 *   domains (DACR), vectors (VBAR, MVBAR), the secure configuration (SCR,
 *   NSACR, SDER), TLB and cache maintenance; reads of them too.
 * - The processor state: a mode change to SVC or monitor, IRQ/FIQ masked.
 * - SMC from user mode, and jumps into memory not its own (OVM's shim among it).
 * - Memory: a read, a write and a jump at every 1 MiB of the address space
 *   outside its own region (OVM, the page tables, the other VMs, address 0,
 *   0xfffffff0 and the device space).
 * - The GIC's distributor (enable, pend, group, target, SGIs) and CPU interface,
 *   the global timer (OVM's time base), the private timer and watchdog, the SCU.
 * - Interrupt lines not its own: acknowledged and ended by hypercall.
 * - Fuzzed hypercalls: random numbers and arguments, pointers anywhere, each
 *   status checked against what that call must answer, and every register but
 *   the results checked unchanged.
 * Arguments: fuzzed hypercalls (default 100,000), random seed.
 */
#include "guest.h"
#include "periph.h"

#define SECTION 0x100000u
#define SECTIONS 4096u
#define OVM_IO_WINDOW 0xfff00000u
#define OVM_IO_WINDOW_SIZE 0x10000u
#define GIC_LINES 96u
#define GICD_OFFSET 0x1000u
#define GICC_OFFSET 0x100u

u32 hostile_call(u32 *regs);
void hostile_jump(u32 target);

/* Where a fault resumes when it is not the next instruction (a jump's return). */
u32 hostile_resume;
static volatile u32 faults, faults_by_kind[5];

extern char _start[];

u32 guest_on_fault(u32 kind, u32 pc, u32 addr, u32 status)
{
	(void)addr;
	(void)status;
	faults++;
	if (kind < ARRAY_SIZE(faults_by_kind))
		faults_by_kind[kind]++;
	if (hostile_resume) {
		u32 resume = hostile_resume;
		hostile_resume = 0;
		return resume;
	}
	return pc + 4;
}

/* Tries, and how many of them faulted: what is not a fault had to change nothing. */
struct tally {
	u32 tries;
	u32 faulted;
};

static void count(struct tally *tally, u32 faults_before)
{
	tally->tries++;
	tally->faulted += faults != faults_before;
}

#define TRY(tally, ...)                                        \
	do {                                                   \
		u32 before_ = faults;                          \
		__asm__ volatile(__VA_ARGS__);                 \
		count(tally, before_);                         \
	} while (0)

static u32 own_base, own_end;

static bool own(u32 addr)
{
	return addr - own_base < own_end - own_base;
}

/* A flat translation table of its own, everything read/write at PL0. */
static u32 own_table[4096] __attribute__((aligned(16384)));

static void attack_cp15(bool report)
{
	struct tally writes = { 0, 0 }, reads = { 0, 0 };
	u32 table = (u32)(uintptr_t)own_table, zero = 0, all = 0xffffffffu, value;

	for (u32 i = 0; i < SECTIONS; i++)
		own_table[i] = (i << 20) | 0xc02u;
	TRY(&writes, "mcr p15, 0, %0, c2, c0, 0" : : "r"(table));	/* TTBR0 */
	TRY(&writes, "mcr p15, 0, %0, c2, c0, 1" : : "r"(table));	/* TTBR1 */
	TRY(&writes, "mcr p15, 0, %0, c2, c0, 2" : : "r"(zero));	/* TTBCR */
	TRY(&writes, "mcr p15, 0, %0, c1, c0, 0" : : "r"(zero));	/* SCTLR: MMU off */
	TRY(&writes, "mcr p15, 0, %0, c3, c0, 0" : : "r"(all));		/* DACR: manager */
	TRY(&writes, "mcr p15, 0, %0, c12, c0, 0" : : "r"(table));	/* VBAR */
	TRY(&writes, "mcr p15, 0, %0, c12, c0, 1" : : "r"(table));	/* MVBAR */
	TRY(&writes, "mcr p15, 0, %0, c1, c1, 0" : : "r"(zero));	/* SCR */
	TRY(&writes, "mcr p15, 0, %0, c1, c1, 1" : : "r"(all));		/* SDER */
	TRY(&writes, "mcr p15, 0, %0, c1, c1, 2" : : "r"(all));		/* NSACR */
	TRY(&writes, "mcr p15, 0, %0, c1, c0, 1" : : "r"(zero));	/* ACTLR: SMP off */
	TRY(&writes, "mcr p15, 0, %0, c1, c0, 2" : : "r"(all));		/* CPACR */
	TRY(&writes, "mcr p15, 0, %0, c13, c0, 1" : : "r"(zero));	/* CONTEXTIDR */
	TRY(&writes, "mcr p15, 0, %0, c13, c0, 3" : : "r"(table));	/* TPIDRURO */
	TRY(&writes, "mcr p15, 0, %0, c8, c7, 0" : : "r"(zero));	/* TLBIALL */
	TRY(&writes, "mcr p15, 0, %0, c7, c5, 0" : : "r"(zero));	/* ICIALLU */
	TRY(&writes, "mcr p15, 0, %0, c7, c6, 2" : : "r"(zero));	/* DCISW */
	TRY(&reads, "mrc p15, 0, %0, c2, c0, 0" : "=r"(value));		/* TTBR0 */
	TRY(&reads, "mrc p15, 0, %0, c1, c0, 0" : "=r"(value));		/* SCTLR */
	TRY(&reads, "mrc p15, 0, %0, c1, c1, 0" : "=r"(value));		/* SCR */
	TRY(&reads, "mrc p15, 0, %0, c12, c0, 1" : "=r"(value));	/* MVBAR */
	if (report)
		gprintf("hostile: cp15 writes: %u tried, %u faulted; reads: %u tried, %u faulted\n",
			writes.tries, writes.faulted, reads.tries, reads.faulted);
}

static u32 cpsr(void)
{
	u32 value;

	__asm__ volatile("mrs %0, cpsr" : "=r"(value));
	return value;
}

/* Not faults: in user mode these are ignored. What counts is the mode and masks after. */
static void attack_cpsr(bool report)
{
	u32 start = cpsr(), changed = 0, svc = 0xd3, mon = 0xd6;

	__asm__ volatile("cps #0x13");
	changed += cpsr() != start;
	__asm__ volatile("cpsid aif");
	changed += cpsr() != start;
	__asm__ volatile("msr cpsr_c, %0" : : "r"(svc));
	changed += cpsr() != start;
	__asm__ volatile("msr cpsr_c, %0" : : "r"(mon));
	changed += cpsr() != start;
	struct tally smc = { 0, 0 };
	TRY(&smc, ".arch_extension sec\n\tsmc #0");
	if (report)
		gprintf("hostile: mode and masks: 4 changes tried, %u took effect (cpsr 0x%x); "
			"smc: %u tried, %u faulted\n",
			changed, cpsr(), smc.tries, smc.faulted);
}

static void attack_memory(bool report)
{
	struct tally reads = { 0, 0 }, writes = { 0, 0 }, jumps = { 0, 0 };
	u32 readable_elsewhere = 0;

	/* Two places in every section: near its start, and 64 KiB before its end (where OVM
	 * keeps the shim in its section; 0xfffffff0 is the last section's). */
	for (u32 n = 0; n < 2 * SECTIONS; n++) {
		u32 addr = (n / 2) << 20 | (n % 2 ? 0xf0000u : 0x40u);
		if (n == 2 * SECTIONS - 1)
			addr = 0xfffffff0u;
		if (own(addr))
			continue;
		u32 value, before = faults;
		__asm__ volatile("ldr %0, [%1]" : "=r"(value) : "r"(addr) : "memory");
		count(&reads, before);
		if (faults == before && addr - platform.periph_base >= 0x1000)
			readable_elsewhere++;
		TRY(&writes, "str %0, [%1]" : : "r"(0xdeadbeefu), "r"(addr) : "memory");
		before = faults;
		hostile_jump(addr);
		count(&jumps, before);
	}
	/* The private region's first page (SCU, GIC CPU interface, timers) is mapped read-only:
	 * the guest library reads the time there. */
	if (report)
		gprintf("hostile: memory outside its own: %u reads, %u faulted, %u read outside the "
			"private region's read-only page; %u writes, %u faulted; %u jumps, %u faulted\n",
			reads.tries, reads.faulted, readable_elsewhere, writes.tries, writes.faulted,
			jumps.tries, jumps.faulted);
}

static void write_all(struct tally *tally, u32 base, u32 first, u32 last, u32 value)
{
	for (u32 reg = first; reg <= last; reg += 4)
		TRY(tally, "str %0, [%1]" : : "r"(value), "r"(base + reg) : "memory");
}

static void attack_devices(bool report)
{
	u32 periph = platform.periph_base;
	struct tally gicd = { 0, 0 }, gicc = { 0, 0 }, timers = { 0, 0 }, scu = { 0, 0 };

	write_all(&gicd, periph, GICD_OFFSET + 0x080, GICD_OFFSET + 0x08c, 0xffffffffu);
	write_all(&gicd, periph, GICD_OFFSET + 0x100, GICD_OFFSET + 0x10c, 0xffffffffu);
	write_all(&gicd, periph, GICD_OFFSET + 0x200, GICD_OFFSET + 0x20c, 0xffffffffu);
	write_all(&gicd, periph, GICD_OFFSET + 0x800, GICD_OFFSET + 0x85c, 0x01010101u);
	write_all(&gicd, periph, GICD_OFFSET + 0xf00, GICD_OFFSET + 0xf00, 0x00ff0008u);
	write_all(&gicd, periph, GICD_OFFSET + 0xf00, GICD_OFFSET + 0xf00, 0x00ff800fu);
	write_all(&gicd, periph, GICD_OFFSET, GICD_OFFSET, 0);
	write_all(&gicc, periph, GICC_OFFSET, GICC_OFFSET + 0x14, 0);
	/* The global timer: OVM's time base, stopped, moved, its comparator changed. */
	write_all(&timers, periph, 0x200, 0x21c, 0);
	write_all(&timers, periph, 0x600, 0x63c, 0xffffffffu);
	write_all(&scu, periph, 0x00, 0x0c, 0);
	u32 acked = 0;
	for (u32 i = 0; i < 16; i++)
		acked += (mmio_read(periph + GICC_OFFSET + 0x0c) & 0x3ff) < 1020;
	if (report)
		gprintf("hostile: distributor writes: %u tried, %u faulted; cpu interface: %u tried, "
			"%u faulted, %u of 16 IAR reads gave an interrupt; timers: %u tried, %u faulted; "
			"scu: %u tried, %u faulted\n",
			gicd.tries, gicd.faulted, gicc.tries, gicc.faulted, acked, timers.tries,
			timers.faulted, scu.tries, scu.faulted);
}

/* Lines and devices not granted, by hypercall: each must be refused. */
static void attack_lines(bool report)
{
	u32 eoi_ok = 0, io_ok = 0, io_tries = 0;

	for (u32 line = 0; line < GIC_LINES; line++)
		eoi_ok += hypercall(HC_IRQ_EOI, line, 0, 0).status == OVM_OK;
	for (u32 base = OVM_IO_WINDOW; base < OVM_IO_WINDOW + 0x4000; base += 0x1000) {
		/* The console device (0xfff00000) is this VM's own; the others are not granted. */
		if (base == OVM_IO_CONSOLE)
			continue;
		for (u32 reg = 0; reg < 0x40; reg += 4, io_tries += 2) {
			io_ok += hypercall(HC_OUTPUT, base + reg, 0, 0).status == OVM_OK;
			io_ok += hypercall(HC_INPUT, base + reg, 0, 0).status == OVM_OK;
		}
	}
	if (report)
		gprintf("hostile: eoi of lines 0-%u never taken: %u accepted; ungranted OVM devices: "
			"%u accesses, %u accepted\n",
			GIC_LINES - 1, eoi_ok, io_tries, io_ok);
}

static u32 rng;

static u32 next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* An argument: a pointer anywhere, at an edge, unaligned, or a plain number. */
static u32 hostile_value(void)
{
	switch (next_random() % 8) {
	case 0:
		return 0;
	case 1:
		return 0xfffffff0u;
	case 2:
		return own_base + 1 + next_random() % (own_end - own_base - 1);
	case 3:
		return own_end - next_random() % 8;
	case 4:
		return next_random() % 512;
	case 5:
		return platform.periph_base + next_random() % 0x2000;
	default:
		return next_random();
	}
}

static bool in_io_window(u32 addr)
{
	return addr - OVM_IO_WINDOW < OVM_IO_WINDOW_SIZE;
}

/*
 * The status a call must answer. Not fuzzed where the call would only harm the
 * attacker itself: its upcall area and console text are never its own aligned
 * memory, and no device access goes to OVM's device window, where an ungranted
 * NRT request waits for a host this scenario does not have.
 */
static bool status_right(u32 index, const u32 *args, s32 status)
{
	switch (index) {
	case HC_INFO:
	case HC_READ_IO:
	case HC_WRITE_IO:
	case HC_REGISTER:
	case HC_SET_REALTIME_INFO:
		return status == OVM_E_PERM;
	case HC_CONSOLE_WRITE:
		return args[2] > HC_CONSOLE_MAX ? status == OVM_E_INVAL
						 : status == OVM_E_FAULT || args[2] == 0;
	case HC_UPCALL_SETUP:
		return status == OVM_E_FAULT || status == OVM_E_INVAL;
	case HC_OUTPUT:
	case HC_INPUT:
		return status == OVM_E_NODEV || status == OVM_E_PERM || status == OVM_E_FAULT;
	default:
		if (index >= HC_COUNT)
			return status == OVM_E_NOSYS;
		return status == OVM_OK || status == OVM_E_INVAL || status == OVM_E_FAULT;
	}
}

/* One round of fuzzed calls: how many were answered wrong. */
static u32 fuzz(u32 calls, bool report)
{
	u32 wrong = 0, clobbered = 0, by_status[10] = { 0 };
	u32 first_wrong[4] = { 0 };

	for (u32 i = 0; i < calls; i++) {
		u32 regs[4];
		u32 pick = next_random() % 32;
		regs[0] = pick < HC_COUNT + 4 ? pick : next_random();
		for (u32 a = 1; a < 4; a++)
			regs[a] = hostile_value();
		if ((regs[0] == HC_UPCALL_SETUP || regs[0] == HC_CONSOLE_WRITE) && own(regs[1]) &&
		    (regs[1] % 4 == 0 || regs[0] == HC_CONSOLE_WRITE))
			regs[1] = own_end + regs[1] % 4096;
		if ((regs[0] == HC_OUTPUT || regs[0] == HC_INPUT) && in_io_window(regs[1]))
			regs[1] -= OVM_IO_WINDOW_SIZE;
		u32 sent[4] = { regs[0], regs[1], regs[2], regs[3] };
		u32 changed = hostile_call(regs);
		s32 status = (s32)regs[0];
		clobbered += changed != 0;
		if (-status >= 0 && -status < (s32)ARRAY_SIZE(by_status))
			by_status[-status]++;
		if (!status_right(sent[0], sent, status) && wrong++ == 0)
			for (u32 a = 0; a < 4; a++)
				first_wrong[a] = sent[a];
	}
	if (report)
		gprintf("hostile: %u fuzzed hypercalls: %u answered wrong, %u changed a register "
			"not theirs; ok %u, nosys %u, perm %u, inval %u, fault %u, again %u, "
			"nodev %u\n",
			calls, wrong, clobbered, by_status[0], by_status[1], by_status[2],
			by_status[3], by_status[4], by_status[6], by_status[9]);
	if (wrong)
		gprintf("hostile: first wrong answer: hypercall %u (%p, %p, %p)\n", first_wrong[0],
			(void *)(uintptr_t)first_wrong[1], (void *)(uintptr_t)first_wrong[2],
			(void *)(uintptr_t)first_wrong[3]);
	return wrong + clobbered;
}

/*
 * The first round reports each attack; then it goes on attacking for as long as
 * the neighbours run, with a line per round, so that their reports cover it.
 */
void guest_main(u32 vcpu_id, u32 vcpu_count, u32 calls, u32 seed)
{
	(void)vcpu_id;
	(void)vcpu_count;
	platform_init();
	/* Its region: the sections from its image on that it can read. */
	own_base = (u32)(uintptr_t)_start & ~(SECTION - 1);
	u32 value;
	for (own_end = own_base + SECTION; own_end && guest_probe_read(own_end, &value);)
		own_end += SECTION;
	rng = seed ? seed : 0x2545f491u;
	if (!calls)
		calls = 100000;
	gprintf("hostile: in %s mode, its region %p-%p; attacking\n",
		guest_in_user_mode ? "user" : "supervisor", (void *)(uintptr_t)own_base,
		(void *)(uintptr_t)(own_end - 1));
	for (u32 round = 1;; round++) {
		bool first = round == 1;
		u32 faults_before = faults;
		attack_cp15(first);
		attack_cpsr(first);
		attack_memory(first);
		attack_devices(first);
		attack_lines(first);
		u32 bad = fuzz(calls, first);
		gprintf("hostile: round %u done at %u ms: %u faults taken (undefined %u, prefetch %u, "
			"data %u in all), %u calls answered wrong or clobbering\n",
			round, ticks_to_us(now_ticks()) / 1000, faults - faults_before,
			faults_by_kind[OVM_FAULT_UNDEFINED], faults_by_kind[OVM_FAULT_PREFETCH_ABORT],
			faults_by_kind[OVM_FAULT_DATA_ABORT], bad);
	}
}
