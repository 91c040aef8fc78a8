#include <core/virq.h>

static u32 id_of(u32 bit)
{
	return bit < VIRQ_HW_LINES ? bit : OVM_VIRQ_TIMER + (bit - VIRQ_HW_LINES);
}

bool virq_valid(u32 id)
{
	return id < VIRQ_HW_LINES || (id >= OVM_VIRQ_TIMER && id < OVM_VIRQ_TIMER + VIRQ_OVM_IDS);
}

u32 virq_ack(struct virq *v)
{
	for (u32 w = 0; w < VIRQ_WORDS; w++) {
		if (!v->pending[w])
			continue;
		u32 bit = w * 32 + (u32)__builtin_ctz(v->pending[w]);
		v->pending[w] &= ~BIT(bit % 32);
		v->active[w] |= BIT(bit % 32);
		return id_of(bit);
	}
	return OVM_IRQ_NONE;
}

bool virq_eoi(struct virq *v, u32 id)
{
	if (!virq_valid(id))
		return false;
	u32 bit = virq_bit_of(id);
	if (!(v->active[bit / 32] & BIT(bit % 32)))
		return false;
	v->active[bit / 32] &= ~BIT(bit % 32);
	return true;
}
