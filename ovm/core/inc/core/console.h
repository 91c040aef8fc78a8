#ifndef CORE_CONSOLE_H
#define CORE_CONSOLE_H

#include <lib/types.h>

void console_init(void);
/* One call prints atomically with respect to the other cores. */
void console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Guest text, each line prefixed with "[vm] ". */
void console_write_guest(const char *vm_name, const char *text, u32 len, bool *at_line_start);

/* The next byte the console received, or -1; never waits. */
int console_getc(void);

#endif
