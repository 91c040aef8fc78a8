/*
 * The console: one UART that OVM and every guest share. OVM's own messages
 * go out at once (console_printf). The guests' text, by the console device
 * or console_write, is queued per VM in whole lines and shared by bandwidth:
 * every round each VM with a complete line gains `bytes_per_round` of credit
 * (up to a line's worth beyond it), and its lines are granted to the UART
 * while the credit lasts. A VM's line of at most bytes_per_round bytes is
 * therefore granted within two rounds of its newline, whatever the others
 * write; a VM that writes faster than its share finds its queue full
 * (OVM_E_AGAIN) instead of delaying anyone. Granted lines go out one at a
 * time, each prefixed with its VM's name, so lines never mix; the UART is fed
 * only as far as its FIFO takes bytes without waiting, a few dozen per entry
 * into OVM, so no core is held up for a line at the UART's speed.
 */
#include <arch/arch.h>
#include <arch/spinlock.h>
#include <core/config.h>
#include <core/console.h>
#include <core/sched.h>
#include <core/vm.h>
#include <drivers/uart.h>
#include <lib/format.h>
#include <ovm/hypercall.h>

/* Complete lines a VM may have queued. */
#define CONSOLE_LINES 32
/* Bytes written to the UART per service at most, with FIQs masked: a PL011's FIFO. At
 * 100 us per service that is still over ten times 115200 baud. */
#define DRAIN_MAX 16
/* How soon a core that has granted output waiting comes back to feed the UART. */
#define DRAIN_US 100
#define NO_VM OVM_MAX_VMS

struct console_queue {
	char bytes[OVM_CONSOLE_QUEUE];
	u32 head;
	u32 count;
	/* Bytes of the unfinished line at the tail. */
	u32 partial;
	/* Complete lines, oldest first: length, and when the newline came. */
	u32 line_len[CONSOLE_LINES];
	u64 line_end[CONSOLE_LINES];
	u32 line_head;
	u32 lines;
	/* The oldest `granted` lines may go out: the round's credit paid for them. */
	u32 granted;
	u32 credit;
	u64 max_delay;
	u32 throttled;
};

static struct {
	spinlock_t lock;
	struct console_queue queues[OVM_MAX_VMS];
	/* Read without the lock by every exit path: 0 when nothing waits for a round. */
	volatile u64 next_round;
	/* The same for granted output the UART has not taken yet. */
	volatile u64 next_drain;
	/* The earlier of the two (SCHED_NEVER for neither), kept with them: the one word
	 * pair an exit path reads. */
	volatile u64 next_due;
	u32 first;
	/* The line going out now (NO_VM: none), and how much of it is out: its prefix,
	 * then its bytes. */
	u32 out_vm;
	u32 out_sent;
	u32 out_prefix;
	u32 out_total;
	bool out_cr;
} share = { .out_vm = NO_VM, .next_due = SCHED_NEVER };

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

static u32 credit_cap(void)
{
	return console_config.bytes_per_round + CONSOLE_LINE_MAX;
}

static const char *vm_name(u32 vm)
{
	return vms[vm].config->name;
}

/* The n-th byte of the line going out: "[name] ", then the line. */
static char out_byte(const struct console_queue *q, u32 n)
{
	if (n < share.out_prefix) {
		if (n == 0)
			return '[';
		if (n == share.out_prefix - 2)
			return ']';
		return n == share.out_prefix - 1 ? ' ' : vm_name(share.out_vm)[n - 1];
	}
	char c = q->bytes[(q->head + n - share.out_prefix) % OVM_CONSOLE_QUEUE];
	/* Guests' control characters must not corrupt the lab's view of the console. */
	return c != '\n' && (c < 0x20 || c > 0x7e) ? '?' : c;
}

static u32 prefix_len(u32 vm)
{
	u32 len = 0;

	while (vm_name(vm)[len])
		len++;
	return len + 3;
}

/* The line that went out leaves its queue. */
static void line_done(struct console_queue *q, u64 now)
{
	u32 len = q->line_len[q->line_head];
	u64 delay = now - q->line_end[q->line_head];

	/* The promise is for lines within the share: those are the ones measured. */
	if (len <= console_config.bytes_per_round && delay > q->max_delay)
		q->max_delay = delay;
	q->head = (q->head + len) % OVM_CONSOLE_QUEUE;
	q->count -= len;
	q->line_head = (q->line_head + 1) % CONSOLE_LINES;
	q->lines--;
	q->granted--;
	share.out_vm = NO_VM;
}

/* The next VM with a granted line, round-robin from the last one served. */
static u32 next_granted(void)
{
	for (u32 n = 0; n < OVM_MAX_VMS; n++) {
		u32 vm = (share.first + n) % OVM_MAX_VMS;
		if (share.queues[vm].granted) {
			share.first = (vm + 1) % OVM_MAX_VMS;
			return vm;
		}
	}
	return NO_VM;
}

static bool anything_granted(void)
{
	for (u32 vm = 0; vm < OVM_MAX_VMS; vm++)
		if (share.queues[vm].granted)
			return true;
	return false;
}

/* After next_round or next_drain changed, under the lock. */
static void update_due(void)
{
	u64 round = share.next_round, out = share.next_drain;

	if (!round)
		share.next_due = out ? out : SCHED_NEVER;
	else
		share.next_due = out && out < round ? out : round;
}

/*
 * Feed the UART granted lines, at most `budget` bytes and only what it takes
 * without waiting; or (`finish`) the line half out, whatever the UART takes,
 * for OVM's own message to follow it. With the lock held.
 */
static void drain(u32 budget, bool finish, u64 now)
{
	while (budget) {
		if (share.out_vm == NO_VM && finish)
			break;
		if (share.out_vm == NO_VM) {
			share.out_vm = next_granted();
			if (share.out_vm == NO_VM)
				break;
			share.out_sent = 0;
			share.out_cr = false;
			share.out_prefix = prefix_len(share.out_vm);
			share.out_total = share.out_prefix +
					  share.queues[share.out_vm].line_len[share.queues[share.out_vm].line_head];
		}
		struct console_queue *q = &share.queues[share.out_vm];
		if (!finish && !uart_tx_ready(board.console_base))
			break;
		char c = out_byte(q, share.out_sent);
		if (c == '\n' && !share.out_cr) {
			uart_putc(board.console_base, '\r');
			share.out_cr = true;
		} else {
			uart_putc(board.console_base, c);
			if (++share.out_sent == share.out_total)
				line_done(q, now);
		}
		budget--;
	}
	bool waited = share.next_drain;
	share.next_drain = anything_granted() || share.out_vm != NO_VM
				   ? now + arch_us_to_ticks(DRAIN_US)
				   : 0;
	update_due();
	if (share.next_drain && !waited)
		core_console_waiting();
}

void console_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spin_lock(&share.lock);
	/* A guest's line half out is finished first, so lines never mix. */
	if (share.out_vm != NO_VM)
		drain(2 * CONSOLE_LINE_MAX, true, arch_now());
	format(sink, NULL, fmt, ap);
	spin_unlock(&share.lock);
	va_end(ap);
}

static void queue_line_end(struct console_queue *q, u64 now)
{
	u32 slot = (q->line_head + q->lines) % CONSOLE_LINES;

	q->line_len[slot] = q->partial;
	q->line_end[slot] = now;
	q->lines++;
	q->partial = 0;
	if (!share.next_round) {
		share.next_round = now + arch_us_to_ticks(console_config.round_us);
		update_due();
		core_console_waiting();
	}
}

/* Room for `len` more bytes holding `newlines` newlines, with the line breaks they
 * may cause. */
static bool room_for(const struct console_queue *q, u32 len, u32 newlines)
{
	u32 breaks = (q->partial + len) / CONSOLE_LINE_MAX + 1;

	return q->count + len + breaks <= OVM_CONSOLE_QUEUE &&
	       q->lines + newlines + breaks <= CONSOLE_LINES;
}

static void queue_put(struct console_queue *q, char c, u64 now)
{
	bool breaks = c != '\n' && q->partial + 1 == CONSOLE_LINE_MAX;

	q->bytes[(q->head + q->count++) % OVM_CONSOLE_QUEUE] = c;
	q->partial++;
	if (breaks) {
		q->bytes[(q->head + q->count++) % OVM_CONSOLE_QUEUE] = '\n';
		q->partial++;
	}
	if (c == '\n' || breaks)
		queue_line_end(q, now);
}

s32 console_queue_write(u32 vm, const char *text, u32 len)
{
	struct console_queue *q = &share.queues[vm];
	u32 newlines = 0;
	u64 now = arch_now();

	for (u32 i = 0; i < len; i++)
		newlines += text[i] == '\n';
	spin_lock(&share.lock);
	bool fits = room_for(q, len, newlines);
	if (fits)
		for (u32 i = 0; i < len; i++)
			queue_put(q, text[i], now);
	else
		q->throttled++;
	spin_unlock(&share.lock);
	return fits ? OVM_OK : OVM_E_AGAIN;
}

s32 console_queue_stat(u32 vm, u32 reg, u32 *value)
{
	const struct console_queue *q = &share.queues[vm];

	spin_lock(&share.lock);
	s32 status = OVM_OK;
	if (reg == OVM_CONSOLE_PENDING)
		*value = q->count;
	else if (reg == OVM_CONSOLE_MAX_DELAY)
		*value = (u32)q->max_delay;
	else if (reg == OVM_CONSOLE_THROTTLED)
		*value = q->throttled;
	else
		status = OVM_E_INVAL;
	spin_unlock(&share.lock);
	return status;
}

/* A round: each VM with complete lines gains its credit, and its lines that it pays
 * for are granted to the UART. */
static void serve_round(u64 now)
{
	bool left = false;

	for (u32 vm = 0; vm < OVM_MAX_VMS; vm++) {
		struct console_queue *q = &share.queues[vm];
		if (q->lines == q->granted)
			continue;
		q->credit += console_config.bytes_per_round;
		if (q->credit > credit_cap())
			q->credit = credit_cap();
		while (q->granted < q->lines) {
			u32 len = q->line_len[(q->line_head + q->granted) % CONSOLE_LINES];
			if (len > q->credit)
				break;
			q->credit -= len;
			q->granted++;
		}
		left |= q->granted < q->lines;
	}
	share.next_round = left ? now + arch_us_to_ticks(console_config.round_us) : 0;
	update_due();
}

void console_service(u64 now)
{
	/* Not before it is due: most exits then never touch the lock. */
	if (now < share.next_due)
		return;
	spin_lock(&share.lock);
	if (share.next_round && now >= share.next_round)
		serve_round(now);
	drain(DRAIN_MAX, false, now);
	spin_unlock(&share.lock);
}

u64 console_next(void)
{
	return share.next_due;
}

int console_getc(void)
{
	spin_lock(&share.lock);
	int c = uart_getc(board.console_base);
	spin_unlock(&share.lock);
	return c;
}
