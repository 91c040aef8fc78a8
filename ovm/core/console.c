#include <arch/spinlock.h>
#include <core/config.h>
#include <core/console.h>
#include <drivers/uart.h>
#include <lib/format.h>

static spinlock_t console_lock = SPINLOCK_INIT;

static void put(char c)
{
	if (c == '\n')
		uart_putc(board.console_base, '\r');
	uart_putc(board.console_base, c);
}

static void sink(void *ctx, char c)
{
	(void)ctx;
	put(c);
}

void console_init(void)
{
	uart_init(board.console_base, board.console_clock_hz, board.console_baud);
}

void console_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spin_lock(&console_lock);
	format(sink, NULL, fmt, ap);
	spin_unlock(&console_lock);
	va_end(ap);
}

static void put_str(const char *s)
{
	while (*s)
		put(*s++);
}

void console_write_guest(const char *vm_name, const char *text, u32 len, bool *at_line_start)
{
	spin_lock(&console_lock);
	for (u32 i = 0; i < len; i++) {
		if (*at_line_start) {
			put('[');
			put_str(vm_name);
			put_str("] ");
		}
		/* Guests' control characters must not corrupt the lab's view of the console. */
		char c = text[i];
		if (c != '\n' && (c < 0x20 || c > 0x7e))
			c = '?';
		put(c);
		*at_line_start = c == '\n';
	}
	spin_unlock(&console_lock);
}

int console_getc(void)
{
	spin_lock(&console_lock);
	int c = uart_getc(board.console_base);
	spin_unlock(&console_lock);
	return c;
}
