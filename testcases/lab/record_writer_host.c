/*
 * The guests' record writer (ovm/guests/lib/records.c), built for the host:
 * gprintf here formats into a buffer that the test reads back.
 */
#include "guest.h"
#include "records.h"
#include <lib/format.h>

static char output[65536];
static u32 output_len;

static void sink(void *ctx, char c)
{
	(void)ctx;
	if (output_len < sizeof(output) - 1)
		output[output_len++] = c;
}

void gprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(sink, NULL, fmt, ap);
	va_end(ap);
}

const char *host_output(void)
{
	output[output_len] = '\0';
	return output;
}

void host_reset(void)
{
	output_len = 0;
}

/* What the test's ctypes mirror of struct record_value must measure. */
u32 host_record_value_size(void)
{
	return sizeof(struct record_value);
}
