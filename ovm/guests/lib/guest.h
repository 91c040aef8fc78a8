/*
 * What every guest program has: a console, time, interrupts, and (under
 * OVM) hypercalls. The platform layer is lib/ovm/ for a VM, lib/native/ for
 * the same program run without OVM; only lib/ovm/ programs may use hypercalls.
 */
#ifndef GUEST_H
#define GUEST_H

#include <lib/types.h>
#include <ovm/hypercall.h>

struct hc_result {
	s32 status;
	u32 r1, r2, r3;
};

static inline struct hc_result hypercall(u32 index, u32 a1, u32 a2, u32 a3)
{
	register u32 r0 __asm__("r0") = index;
	register u32 r1 __asm__("r1") = a1;
	register u32 r2 __asm__("r2") = a2;
	register u32 r3 __asm__("r3") = a3;

	__asm__ volatile(".arch_extension sec\n\tsmc #0"
			 : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3)
			 :
			 : "memory");
	return (struct hc_result){ (s32)r0, r1, r2, r3 };
}

void gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The guest's entry: its vCPU number and count, and the two arguments of its VM. */
void guest_main(u32 vcpu_id, u32 vcpu_count, u32 arg0, u32 arg1);
/* Called from the IRQ vector with IRQs masked; each guest that takes interrupts defines it. */
void guest_irq(void);

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

static inline void irqs_on(void)
{
	__asm__ volatile("cpsie i" ::: "memory");
}

static inline void wait_for_interrupt(void)
{
	__asm__ volatile("wfi" ::: "memory");
}

#endif
