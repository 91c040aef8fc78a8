/*
 * A vCPU's virtual interrupts: which are pending, which the guest has
 * acknowledged and not yet ended. Lower ids first, as a GIC orders equal
 * priorities. Pure logic, built for the host by the tests too.
 */
#ifndef CORE_VIRQ_H
#define CORE_VIRQ_H

#include <lib/types.h>
#include <ovm/hypercall.h>

/* Hardware lines OVM can route; OVM's own virtual ids follow them in the bitmap. */
#define VIRQ_HW_LINES 128
#define VIRQ_OVM_IDS 3
#define VIRQ_BITS (VIRQ_HW_LINES + VIRQ_OVM_IDS)
#define VIRQ_WORDS ((VIRQ_BITS + 31) / 32)

struct virq {
	u32 pending[VIRQ_WORDS];
	u32 active[VIRQ_WORDS];
};

bool virq_valid(u32 id);

/* Where id lives in the bitmaps: hardware lines first, then OVM's own ids. */
static inline u32 virq_bit_of(u32 id)
{
	return id < VIRQ_HW_LINES ? id : VIRQ_HW_LINES + (id - OVM_VIRQ_TIMER);
}

/* Inline: on the path of every forwarded interrupt. */
static inline void virq_raise(struct virq *v, u32 id)
{
	u32 bit = virq_bit_of(id);

	v->pending[bit / 32] |= BIT(bit % 32);
}
/* Inline, without a branch per word: every exit asks, and the answer is mostly no. */
static inline bool virq_any_pending(const struct virq *v)
{
	u32 any = 0;

	for (u32 w = 0; w < VIRQ_WORDS; w++)
		any |= v->pending[w];
	return any != 0;
}

/* The lowest pending id, now active; OVM_IRQ_NONE if nothing is pending. */
u32 virq_ack(struct virq *v);
/* End an active id; false if it was not active. */
bool virq_eoi(struct virq *v, u32 id);

#endif
