/*
 * Stand-in for ovm/guests/lib/guest.h when the host guest (ovm/guests/host/main.c)
 * is built for the build machine: hypercalls go to harness.c instead of OVM.
 */
#ifndef GUEST_H
#define GUEST_H

#include <lib/types.h>
#include <ovm/hypercall.h>

struct hc_result {
	s32 status;
	u32 r1, r2, r3;
};

struct hc_result hypercall(u32 index, u32 a1, u32 a2, u32 a3);
void gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void platform_console_write(const char *text, u32 len);
void guest_main(u32 vcpu_id, u32 vcpu_count, u32 arg0, u32 arg1);
void platform_init(void);

static inline u64 now_ticks(void)
{
	return 0;
}

static inline u64 us_to_ticks(u32 us)
{
	return us;
}

static inline void wait_for_interrupt(void)
{
}

static inline void irqs_on(void)
{
}

#endif
