/*
 * A guest program's platform without OVM: the board's addresses come from
 * its board file at build time (NATIVE_*), the console is the UART itself,
 * and the GIC's distributor is ours to enable. Used for the baseline that
 * OVM's figures are compared with.
 */
#include "guest.h"
#include "periph.h"
#include <drivers/uart.h>

#define GICD_ENABLE_GROUP0 1u

void platform_init(void)
{
	platform = (struct platform){ NATIVE_TIMER_HZ, NATIVE_PERIPH_BASE, 0 };
	uart_init(NATIVE_UART_BASE, NATIVE_UART_CLOCK_HZ, NATIVE_UART_BAUD);
	/* Secure and alone: every line stays in group 0, signalled as IRQ (FIQEn clear). */
	mmio_write(NATIVE_PERIPH_BASE + GICD_CTLR, GICD_ENABLE_GROUP0);
	/* The lab waits for this line as it waits for OVM's banner (lab/banner.py). */
	gprintf("NATIVE program=%s board=%s build=%s\n", NATIVE_PROGRAM, NATIVE_BOARD,
		NATIVE_BUILD);
}

void platform_console_write(const char *text, u32 len)
{
	for (u32 i = 0; i < len; i++) {
		if (text[i] == '\n')
			uart_putc(NATIVE_UART_BASE, '\r');
		uart_putc(NATIVE_UART_BASE, text[i]);
	}
}

/* Nothing is routed to a native program but what it enables; a stray line is ended. */
__attribute__((weak)) void guest_irq(void)
{
	mmio_write(platform.periph_base + GICC_EOIR, mmio_read(platform.periph_base + GICC_IAR));
}
