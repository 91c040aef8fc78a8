#include "guest.h"
#include "periph.h"
#include "upcall.h"

#include <stddef.h>

_Static_assert(offsetof(struct ovm_vcpu_area, masked) == AREA_MASKED &&
		       offsetof(struct ovm_vcpu_area, pending) == AREA_PENDING &&
		       offsetof(struct ovm_vcpu_area, pc) == AREA_PC &&
		       offsetof(struct ovm_vcpu_area, cpsr) == AREA_CPSR &&
		       offsetof(struct ovm_vcpu_area, fault_pc) == AREA_FAULT_PC &&
		       offsetof(struct ovm_vcpu_area, fault_cpsr) == AREA_FAULT_CPSR &&
		       sizeof(struct ovm_vcpu_area) == AREA_SIZE,
	       "upcall.h, for the assembly");
_Static_assert(HC_UPCALL_SETUP == HC_UPCALL_SETUP_NR && HC_IRQ_RESUME == HC_IRQ_RESUME_NR,
	       "upcall.h, for the assembly");

struct platform platform;

/* One per vCPU in user mode; start.S registers them with OVM. */
struct ovm_vcpu_area guest_vcpu_areas[GUEST_MAX_VCPUS];

/* This vCPU's area: OVM keeps its address in TPIDRURO. */
static inline volatile struct ovm_vcpu_area *vcpu_area(void)
{
	u32 area;

	__asm__ volatile("mrc p15, 0, %0, c13, c0, 3" : "=r"(area));
	return (volatile struct ovm_vcpu_area *)(uintptr_t)area;
}

void irqs_on(void)
{
	if (!guest_in_user_mode) {
		__asm__ volatile("cpsie i" ::: "memory");
		return;
	}
	volatile struct ovm_vcpu_area *area = vcpu_area();
	area->masked = 0;
	if (area->pending)
		hypercall(HC_IRQ_RESUME, 0, 0, 0);
}

u32 irq_next(void)
{
	if (guest_in_user_mode)
		return hypercall(HC_IRQ_ACK, 0, 0, 0).r1;
	u32 id = mmio_read(platform.periph_base + GICC_IAR) & 0x3ffu;
	return id >= GIC_SPURIOUS ? OVM_IRQ_NONE : id;
}

void irq_end(u32 id)
{
	if (guest_in_user_mode)
		hypercall(HC_IRQ_EOI, id, 0, 0);
	else
		mmio_write(platform.periph_base + GICC_EOIR, id);
}

void irq_line_enable(u32 line)
{
	if (guest_in_user_mode)
		return;
	u32 periph = platform.periph_base;
	mmio_write(periph + GICC_PMR, 0xf0);
	mmio_write(periph + GICC_CTLR, 1);
	mmio_write(periph + GICD_ISENABLER0 + (line / 32) * 4, BIT(line % 32));
}

void core_timer_write(u32 timer, u32 reg, u32 value)
{
	if (guest_in_user_mode)
		hypercall(HC_OUTPUT, (timer == WDT_BASE ? OVM_IO_WATCHDOG : OVM_IO_PTIMER) + reg, value,
			  0);
	else
		mmio_write(platform.periph_base + timer + reg, value);
}

/* 0: no probe; 1: guest_probe_read is reading; 2: that read faulted (vectors.S). */
volatile u32 probe_state;

bool guest_probe_read(u32 addr, u32 *value)
{
	probe_state = 1;
	*value = *(volatile u32 *)(uintptr_t)addr;
	bool mapped = probe_state == 1;
	probe_state = 0;
	return mapped;
}

u64 now_ticks(void)
{
	u32 hi, lo;

	do {
		hi = mmio_read(platform.periph_base + GTIMER_COUNTER_HI);
		lo = mmio_read(platform.periph_base + GTIMER_COUNTER_LO);
	} while (hi != mmio_read(platform.periph_base + GTIMER_COUNTER_HI));
	return ((u64)hi << 32) | lo;
}

u32 time_read_overhead(void)
{
	u32 least = 0xffffffffu;

	for (u32 i = 0; i < 16; i++) {
		u64 t0 = now_ticks();
		u64 t1 = now_ticks();
		if ((u32)(t1 - t0) < least)
			least = (u32)(t1 - t0);
	}
	return least;
}

u64 us_to_ticks(u32 us)
{
	return (u64)us * (platform.timer_hz / 1000000u);
}

u32 ticks_to_us(u64 ticks)
{
	return (u32)(ticks / (platform.timer_hz / 1000000u));
}

static const char *const fault_names[] = { "?", "undefined instruction", "?", "prefetch abort",
					   "data abort" };

__attribute__((noreturn)) void guest_fault(u32 kind, u32 where)
{
	gprintf("FAULT: %s at %p\n", kind < 5 ? fault_names[kind] : "?", (void *)(uintptr_t)where);
	for (;;)
		wait_for_interrupt();
}

__attribute__((weak)) u32 guest_on_fault(u32 kind, u32 pc, u32 addr, u32 status)
{
	(void)kind;
	(void)pc;
	(void)addr;
	(void)status;
	return 0;
}

/* A user-mode guest's fault upcall (vectors.S): where to resume. */
u32 guest_user_fault(const struct ovm_vcpu_area *area)
{
	u32 pc = area->fault_pc & ~1u;

	if (probe_state == 1 && area->fault_kind == OVM_FAULT_DATA_ABORT) {
		probe_state = 2;
		return pc + 4;
	}
	u32 resume = guest_on_fault(area->fault_kind, pc, area->fault_addr, area->fault_status);
	if (!resume)
		guest_fault(area->fault_kind, pc);
	return resume;
}
