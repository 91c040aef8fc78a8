/* The shared console (console.c): OVM's own messages, and the guests' text by bandwidth. */
#ifndef CORE_CONSOLE_H
#define CORE_CONSOLE_H

#include <lib/types.h>

/* Lines longer than this are broken, so that a VM's queue always holds whole lines. */
#define CONSOLE_LINE_MAX 256

void console_init(void);
/* OVM's own message: out at once, whole, between guests' lines. */
void console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* VM `vm`'s text (console_write, the console device): queued whole, or OVM_E_AGAIN
 * with nothing queued while its queue has no room for it (over its share). */
s32 console_queue_write(u32 vm, const char *text, u32 len);
/* The console device's OVM_CONSOLE_PENDING, _MAX_DELAY, _THROTTLED of VM `vm`. */
s32 console_queue_stat(u32 vm, u32 reg, u32 *value);
/* Rounds and output due by `now`: cheap when nothing is due. */
void console_service(u64 now);
/* When the console next has something to do (a round, output for the UART), or
 * SCHED_NEVER. */
u64 console_next(void);

/* The next byte the console received, or -1; never waits. */
int console_getc(void);

#endif
