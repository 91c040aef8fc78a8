/* A paravirtual guest's platform: what OVM tells it, and OVM's console. */
#include "guest.h"

void platform_init(void)
{
	struct hc_result r = hypercall(HC_PLATFORM_INFO, 0, 0, 0);

	platform = (struct platform){ r.r1, r.r2, r.r3 };
}

#define CONSOLE_RETRY_US 50

__attribute__((weak)) void guest_console_wait(void)
{
	u64 until = now_ticks() + us_to_ticks(CONSOLE_RETRY_US);
	while (now_ticks() < until)
		;
}

/* While the VM is over its share of the console, OVM takes nothing: wait, and offer the
 * text again. */
void platform_console_write(const char *text, u32 len)
{
	while (hypercall(HC_CONSOLE_WRITE, (u32)(uintptr_t)text, len, 0).status == OVM_E_AGAIN)
		guest_console_wait();
}

/* Guests that take no interrupts: anything that arrives is acknowledged and ended. */
__attribute__((weak)) void guest_irq(void)
{
	for (;;) {
		u32 id = hypercall(HC_IRQ_ACK, 0, 0, 0).r1;
		if (id == OVM_IRQ_NONE)
			return;
		hypercall(HC_IRQ_EOI, id, 0, 0);
	}
}
