/*
 * What every guest program has: a console, time, interrupts, its core's
 * timers, and (under OVM) hypercalls. The platform layer is lib/ovm/ for a
 * VM, lib/native/ for the same program run without OVM; only lib/ovm/
 * programs may use hypercalls. A VM's program runs in user mode (OVM's
 * upcalls) or, a trusted HRT one, in supervisor mode (its own vectors, the
 * GIC and its core's timers touched directly); this library hides which.
 */
#ifndef GUEST_H
#define GUEST_H

#include <lib/types.h>
#include <ovm/hypercall.h>

struct hc_result {
	s32 status;
	u32 r1, r2, r3;
};

/* Set by the entry code: the program runs in user mode under OVM's shim. */
extern u32 guest_in_user_mode;

/* From user mode by SVC, which OVM's shim passes on; from supervisor mode by SMC. */
static inline struct hc_result hypercall(u32 index, u32 a1, u32 a2, u32 a3)
{
	register u32 r0 __asm__("r0") = index;
	register u32 r1 __asm__("r1") = a1;
	register u32 r2 __asm__("r2") = a2;
	register u32 r3 __asm__("r3") = a3;

	if (guest_in_user_mode)
		__asm__ volatile("svc #0"
				 : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3)
				 :
				 : "memory");
	else
		__asm__ volatile(".arch_extension sec\n\tsmc #0"
				 : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3)
				 :
				 : "memory");
	return (struct hc_result){ (s32)r0, r1, r2, r3 };
}

void gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The guest's entry: its vCPU number and count, and the two arguments of its VM. */
void guest_main(u32 vcpu_id, u32 vcpu_count, u32 arg0, u32 arg1);
/* Called at each interrupt with interrupts masked (from the IRQ vector, or OVM's
 * upcall), which it must leave masked; each guest that takes interrupts defines it. */
void guest_irq(void);
/* A user-mode guest's fault, not a probe read's: the address to resume at, or 0 to stop
 * with a message (the default). A guest that expects faults defines it. */
u32 guest_on_fault(u32 kind, u32 pc, u32 addr, u32 status);

/* The board as the program sees it; filled by platform_init(). */
struct platform {
	u32 timer_hz;
	u32 periph_base;
	u32 tick_us;
};
extern struct platform platform;
void platform_init(void);
/* Write text to the console: through OVM, or to the UART when native. */
void platform_console_write(const char *text, u32 len);
/* What a guest over its share of the console does before it offers its text again: by
 * default, wait 50 us. A periodic guest that prints between jobs ends its job instead,
 * so that waiting for the console never overruns a job's budget. */
void guest_console_wait(void);

/* Read a word that may not be mapped: false if the read faulted (OVM did not map it). */
bool guest_probe_read(u32 addr, u32 *value);

/* The Cortex-A9 global timer's count, which OVM's time is kept in. */
u64 now_ticks(void);
/* Ticks between two back-to-back now_ticks(): what a timed operation's figure is less. */
u32 time_read_overhead(void);
u64 us_to_ticks(u32 us);
u32 ticks_to_us(u64 ticks);

static inline u32 mmio_read(u32 addr)
{
	return *(volatile u32 *)(uintptr_t)addr;
}

static inline void mmio_write(u32 addr, u32 value)
{
	*(volatile u32 *)(uintptr_t)addr = value;
}

/* Interrupts from now on: the CPSR's I bit, or OVM's virtual mask in user mode. */
void irqs_on(void);

/*
 * Interrupts in the handler: the next one to handle (OVM_IRQ_NONE when none is
 * left), and its end once its source is cleared. From the GIC itself in
 * supervisor mode, from OVM's paravirtual GIC in user mode.
 */
u32 irq_next(void);
void irq_end(u32 id);
/* Take interrupts of one of this VM's lines: the GIC is set up in supervisor mode (in
 * user mode OVM enabled it when it routed it). */
void irq_line_enable(u32 line);

/*
 * The core's private timer and watchdog (their base offsets PTIMER_BASE, WDT_BASE in
 * periph.h): read directly, written directly in supervisor mode and through OVM's
 * proxy in user mode (the VM must be granted them: `io: [ptimer]`, `io: [watchdog]`).
 */
void core_timer_write(u32 timer, u32 reg, u32 value);
static inline u32 core_timer_read(u32 timer, u32 reg)
{
	return mmio_read(platform.periph_base + timer + reg);
}

static inline void wait_for_interrupt(void)
{
	__asm__ volatile("wfi" ::: "memory");
}

#endif
