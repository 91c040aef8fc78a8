#include "records.h"
#include "guest.h"
#include <lib/format.h>

#define LINE_MAX 200

struct line {
	char text[LINE_MAX];
	u32 len;
};

static void sink(void *ctx, char c)
{
	struct line *line = ctx;

	if (line->len < sizeof(line->text) - 1)
		line->text[line->len++] = c;
}

static void append(struct line *line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(sink, line, fmt, ap);
	va_end(ap);
}

u32 record_crc32(const char *text, u32 len)
{
	u32 crc = 0xffffffffu;

	for (u32 i = 0; i < len; i++) {
		crc ^= (u8)text[i];
		for (u32 bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

static void emit(struct line *line)
{
	u32 crc = record_crc32(line->text, line->len);

	line->text[line->len] = '\0';
	gprintf("%s #%08x\n", line->text, crc);
}

void record_series(const char *series, const char *unit, const u32 *values, u32 count)
{
	struct line line = { .len = 0 };

	append(&line, "@ovm1 B %s n=%u unit=%s", series, count, unit);
	emit(&line);
	for (u32 first = 0; first < count; first += RECORD_SAMPLES_PER_LINE) {
		line.len = 0;
		append(&line, "@ovm1 S %s %u", series, first);
		for (u32 i = first; i < count && i < first + RECORD_SAMPLES_PER_LINE; i++)
			append(&line, " %u", values[i]);
		emit(&line);
	}
	line.len = 0;
	append(&line, "@ovm1 E %s n=%u", series, count);
	emit(&line);
}

void record_values(const char *name, const struct record_value *values, u32 count)
{
	struct line line = { .len = 0 };

	append(&line, "@ovm1 V %s", name);
	for (u32 i = 0; i < count; i++)
		append(&line, " %s=%d", values[i].key, values[i].value);
	/* A full line may have lost its tail: no checksum, so the lab rejects it
	 * rather than read a cut value as a whole one. */
	if (line.len == sizeof(line.text) - 1) {
		line.text[line.len] = '\0';
		gprintf("%s #cut\n", line.text);
		return;
	}
	emit(&line);
}
