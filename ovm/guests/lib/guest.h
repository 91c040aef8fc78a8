/* What every paravirtual guest has: hypercalls and a console that goes through OVM. */
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

void guest_main(u32 vcpu_id, u32 vcpu_count);

#endif
