#include <lib/format.h>

static void put_number(format_sink sink, void *ctx, u32 value, u32 base,
		       bool negative, u32 width, char pad)
{
	char digits[12];
	u32 n = 0;

	do {
		u32 d = value % base;
		digits[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		value /= base;
	} while (value);
	if (negative)
		digits[n++] = '-';
	while (width > n) {
		sink(ctx, pad);
		width--;
	}
	while (n)
		sink(ctx, digits[--n]);
}

void format(format_sink sink, void *ctx, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			sink(ctx, *fmt);
			continue;
		}
		fmt++;
		char pad = ' ';
		u32 width = 0;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (u32)(*fmt++ - '0');
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			while (*s)
				sink(ctx, *s++);
			break;
		}
		case 'c':
			sink(ctx, (char)va_arg(ap, int));
			break;
		case 'd': {
			s32 v = va_arg(ap, s32);
			put_number(sink, ctx, v < 0 ? (u32)-v : (u32)v, 10, v < 0, width, pad);
			break;
		}
		case 'u':
			put_number(sink, ctx, va_arg(ap, u32), 10, false, width, pad);
			break;
		case 'x':
			put_number(sink, ctx, va_arg(ap, u32), 16, false, width, pad);
			break;
		case 'p':
			sink(ctx, '0');
			sink(ctx, 'x');
			put_number(sink, ctx, (u32)(uintptr_t)va_arg(ap, void *), 16, false, 8, '0');
			break;
		case '%':
			sink(ctx, '%');
			break;
		case '\0':
			return;
		default:
			sink(ctx, '%');
			sink(ctx, *fmt);
		}
	}
}
