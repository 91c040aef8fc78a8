#ifndef LIB_FORMAT_H
#define LIB_FORMAT_H

#include <lib/types.h>
#include <stdarg.h>

/*
 * A small printf: %s %c %d %u %x %p and %%, with an optional zero flag and
 * width (%08x). Output goes to a sink one character at a time so that the
 * console and string buffers share one formatter.
 */
typedef void (*format_sink)(void *ctx, char c);

void format(format_sink sink, void *ctx, const char *fmt, va_list ap);

#endif
