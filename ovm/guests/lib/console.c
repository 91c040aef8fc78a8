#include "guest.h"
#include <lib/format.h>

struct line_buffer {
	char text[HC_CONSOLE_MAX];
	u32 len;
};

static void flush(struct line_buffer *buf)
{
	if (buf->len)
		platform_console_write(buf->text, buf->len);
	buf->len = 0;
}

static void sink(void *ctx, char c)
{
	struct line_buffer *buf = ctx;

	buf->text[buf->len++] = c;
	if (c == '\n' || buf->len == sizeof(buf->text))
		flush(buf);
}

void gprintf(const char *fmt, ...)
{
	struct line_buffer buf = { .len = 0 };
	va_list ap;

	va_start(ap, fmt);
	format(sink, &buf, fmt, ap);
	va_end(ap);
	flush(&buf);
}
