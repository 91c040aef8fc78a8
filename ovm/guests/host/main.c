/*
 * The management guest (the host): an NRT VM with a command console that the
 * lab drives over the UART, and the emulation of the host device that NRT
 * guests reach by input/output.
 *
 * It polls two things forever: the console's input (HC_INPUT on
 * OVM_IO_CONSOLE), assembling a line and running it as a command, and the
 * queue of NRT guests' input/output requests (HC_READ_IO), each answered at
 * once with HC_WRITE_IO; when neither has anything it sleeps (WFI, with its
 * virtual timer armed) instead of spinning. Every reply line starts with "host: ", and each
 * command ends with one final line naming it ("host: info ok ...",
 * "host: register error -3", ...), so the lab knows when it is done.
 *
 * Commands:
 *   info                           VMs and vCPUs, from HC_INFO
 *   register key=value ...         HC_REGISTER: name guest level cores mem [rt] [args] [io]
 *   hc <index> <a1> <a2> <a3>      a raw hypercall (hostile-argument tests; numbers
 *                                  decimal or 0x, '-' for two's complement)
 *   stats                          input/output requests served: all, writes, and
 *                                  those answered with an error status
 *
 * The host checks syntax only: values go to OVM as given, since OVM, not the
 * host, decides what is a valid VM.
 */
#include "guest.h"
#include <lib/string.h>

#define LINE_MAX 200
#define MAX_WORDS 16
/* Idle, the host sleeps at most this long before it polls again. */
#define IDLE_WAKE_US 1000

static const char *const level_names[] = { "HRT", "SRT", "NRT" };
static const char *const state_names[] = { "running", "runnable", "waiting", "blocked",
					   "throttled", "halted" };

static struct ovm_info info;
static struct ovm_vm_request request;

/* The host device, one per requesting vCPU (a global vCPU index). */
static u32 scratch[OVM_INFO_MAX_VCPUS];
static u32 accum[OVM_INFO_MAX_VCPUS];
/* Requests answered; of them writes, and answered with an error status. */
static u32 served, writes, errors;

/* --- Small string helpers (no libc). --- */

/* Split `line` in place at spaces and tabs; returns the number of words. */
static u32 split_words(char *line, char **words, u32 max)
{
	u32 n = 0;

	while (*line) {
		while (*line == ' ' || *line == '\t')
			*line++ = '\0';
		if (!*line)
			break;
		if (n == max)
			return max + 1;
		words[n++] = line;
		while (*line && *line != ' ' && *line != '\t')
			line++;
	}
	return n;
}

/*
 * A number: decimal, or hexadecimal after 0x, with an optional leading '-'
 * (two's complement). The whole of `text` up to `end` (or its NUL, when end is
 * NULL) must be digits; false for anything else or more than 32 bits.
 */
static bool parse_number_span(const char *text, const char *end, u32 *value)
{
	bool negative = false;
	u32 base = 10, v = 0;

	if (!end)
		end = text + strlen(text);
	if (text < end && *text == '-') {
		negative = true;
		text++;
	}
	if (end - text > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		base = 16;
		text += 2;
	}
	if (text >= end)
		return false;
	for (; text < end; text++) {
		char c = *text;
		u32 d;
		if (c >= '0' && c <= '9')
			d = (u32)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (u32)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (u32)(c - 'A' + 10);
		else
			return false;
		if (v > (0xffffffffu - d) / base)
			return false;
		v = v * base + d;
	}
	*value = negative ? (u32)-v : v;
	return true;
}

static bool parse_number(const char *text, u32 *value)
{
	return parse_number_span(text, NULL, value);
}

/* `count` numbers separated by `sep` (args= takes 1 or 2: min_count..count). */
static bool parse_list(const char *text, char sep, u32 min_count, u32 count, u32 *values)
{
	u32 n = 0;

	for (;;) {
		const char *end = text;
		while (*end && *end != sep)
			end++;
		if (n == count || !parse_number_span(text, end, &values[n]))
			return false;
		n++;
		if (!*end)
			break;
		text = end + 1;
	}
	return n >= min_count;
}

/* A name as OVM gets it: up to OVM_NAME_SIZE bytes; one that fills them all has no NUL
 * (malformed). */
static void copy_name(char *dst, const char *src)
{
	u32 i = 0;

	for (; i < OVM_NAME_SIZE && src[i]; i++)
		dst[i] = src[i];
	for (; i < OVM_NAME_SIZE; i++)
		dst[i] = '\0';
}

/* --- The host device. --- */

static void serve_request(u32 r1, u32 addr, u32 value)
{
	u32 vcpu = r1 & ~OVM_IO_REQ_WRITE;
	bool write = (r1 & OVM_IO_REQ_WRITE) != 0;
	u32 result = 0;
	s32 status = OVM_OK;

	if (vcpu >= OVM_INFO_MAX_VCPUS) {
		status = OVM_E_NODEV;
	} else if (addr == OVM_IO_HOSTDEV + OVM_HOSTDEV_ID) {
		if (write)
			status = OVM_E_PERM;
		else
			result = OVM_HOSTDEV_MAGIC;
	} else if (addr == OVM_IO_HOSTDEV + OVM_HOSTDEV_SCRATCH) {
		if (write)
			scratch[vcpu] = value;
		else
			result = scratch[vcpu];
	} else if (addr == OVM_IO_HOSTDEV + OVM_HOSTDEV_ACCUM) {
		if (write)
			accum[vcpu] += value;
		else
			result = accum[vcpu];
	} else {
		status = OVM_E_NODEV;
	}
	served++;
	writes += write;
	errors += status != OVM_OK;
	s32 answered = hypercall(HC_WRITE_IO, vcpu, result, (u32)status).status;
	if (answered != OVM_OK)
		gprintf("host: io error vcpu=%u status=%d\n", vcpu, answered);
}

/* Answer every queued request (a bounded number per turn, so the console is polled too);
 * returns how many. */
static u32 serve_io(void)
{
	u32 n = 0;

	for (; n < 64; n++) {
		struct hc_result r = hypercall(HC_READ_IO, 0, 0, 0);
		if (r.status != OVM_OK)
			break;
		serve_request(r.r1, r.r2, r.r3);
	}
	return n;
}

/* --- Commands. --- */

static void cmd_info(void)
{
	s32 status = hypercall(HC_INFO, (u32)(uintptr_t)&info, sizeof(info), 0).status;
	if (status != OVM_OK) {
		gprintf("host: info error %d\n", status);
		return;
	}
	u32 vm_count = info.vm_count < OVM_INFO_MAX_VMS ? info.vm_count : OVM_INFO_MAX_VMS;
	u32 vcpu_count = info.vcpu_count < OVM_INFO_MAX_VCPUS ? info.vcpu_count : OVM_INFO_MAX_VCPUS;
	for (u32 i = 0; i < vm_count; i++) {
		const struct ovm_info_vm *vm = &info.vms[i];
		char name[17];
		memcpy(name, vm->name, 16);
		name[16] = '\0';
		if (vm->level < ARRAY_SIZE(level_names))
			gprintf("host: vm id=%u name=%s level=%s cores=0x%x mem=0x%x+0x%x vcpus=%u "
			    "io=0x%x registered=%u\n",
			    vm->id, name, level_names[vm->level], vm->core_mask, vm->mem_base,
			    vm->mem_size, vm->vcpus, vm->io, vm->registered);
		else
			gprintf("host: vm id=%u name=%s level=%u cores=0x%x mem=0x%x+0x%x vcpus=%u "
			    "io=0x%x registered=%u\n",
			    vm->id, name, vm->level, vm->core_mask, vm->mem_base, vm->mem_size,
			    vm->vcpus, vm->io, vm->registered);
	}
	for (u32 i = 0; i < vcpu_count; i++) {
		const struct ovm_info_vcpu *v = &info.vcpus[i];
		if (v->state < ARRAY_SIZE(state_names))
			gprintf("host: vcpu index=%u vm=%u id=%u core=%u state=%s jobs=%u misses=%u "
				"overruns=%u\n",
				i, v->vm, v->id, v->core, state_names[v->state], v->jobs_done,
				v->misses, v->overruns);
		else
			gprintf("host: vcpu index=%u vm=%u id=%u core=%u state=%u jobs=%u misses=%u "
				"overruns=%u\n",
				i, v->vm, v->id, v->core, v->state, v->jobs_done, v->misses, v->overruns);
	}
	gprintf("host: info ok vms=%u vcpus=%u\n", info.vm_count, info.vcpu_count);
}

/* The value of `key=value`, or NULL if `word` is not of that key. */
static const char *value_of(const char *word, const char *key)
{
	while (*key && *word == *key) {
		word++;
		key++;
	}
	return !*key && *word == '=' ? word + 1 : NULL;
}

static bool parse_level(const char *text, u32 *level)
{
	for (u32 i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(text, level_names[i]) == 0) {
			*level = i;
			return true;
		}
	}
	/* A number goes through as it is: OVM refuses what is out of range. */
	return parse_number(text, level);
}

/* Fill `request` from the words; NULL if all parsed, else the word (its key) that did not. */
static const char *parse_register(char **words, u32 count)
{
	memset(&request, 0, sizeof(request));
	for (u32 i = 0; i < count; i++) {
		char *word = words[i];
		const char *v;
		bool ok;
		if ((v = value_of(word, "name"))) {
			copy_name(request.name, v);
			ok = true;
		} else if ((v = value_of(word, "guest"))) {
			copy_name(request.guest, v);
			ok = true;
		} else if ((v = value_of(word, "level"))) {
			ok = parse_level(v, &request.level);
		} else if ((v = value_of(word, "cores"))) {
			ok = parse_number(v, &request.core_mask);
		} else if ((v = value_of(word, "mem"))) {
			ok = parse_number(v, &request.mem_size);
		} else if ((v = value_of(word, "rt"))) {
			u32 rt[3];
			ok = parse_list(v, '/', 3, 3, rt);
			if (ok) {
				request.deadline_us = rt[0];
				request.period_us = rt[1];
				request.budget_us = rt[2];
			}
		} else if ((v = value_of(word, "args"))) {
			u32 args[2] = { 0, 0 };
			ok = parse_list(v, ',', 1, 2, args);
			if (ok) {
				request.args[0] = args[0];
				request.args[1] = args[1];
			}
		} else if ((v = value_of(word, "io"))) {
			ok = parse_number(v, &request.io);
		} else {
			ok = false;
		}
		if (!ok) {
			/* Name the key only: cut the word at its '='. */
			for (char *c = word; *c; c++) {
				if (*c == '=') {
					*c = '\0';
					break;
				}
			}
			return word;
		}
	}
	return NULL;
}

static void cmd_register(char **words, u32 count)
{
	const char *bad = parse_register(words, count);
	if (bad) {
		gprintf("host: register error syntax %s\n", bad);
		return;
	}
	struct hc_result r =
		hypercall(HC_REGISTER, (u32)(uintptr_t)&request, sizeof(request), 0);
	if (r.status == OVM_OK)
		gprintf("host: register ok vm=%u\n", r.r1);
	else
		gprintf("host: register error %d\n", r.status);
}

static void cmd_hc(char **words, u32 count)
{
	u32 a[4] = { 0, 0, 0, 0 };

	if (count != 4) {
		gprintf("host: hc error syntax %u arguments, want 4\n", count);
		return;
	}
	for (u32 i = 0; i < 4; i++) {
		if (!parse_number(words[i], &a[i])) {
			gprintf("host: hc error syntax %s\n", words[i]);
			return;
		}
	}
	struct hc_result r = hypercall(a[0], a[1], a[2], a[3]);
	gprintf("host: hc %u status=%d r1=0x%x r2=0x%x r3=0x%x\n", a[0], r.status, r.r1, r.r2, r.r3);
	/* A request taken by hand is still served: its guest must not wait forever. */
	if (a[0] == HC_READ_IO && r.status == OVM_OK)
		serve_request(r.r1, r.r2, r.r3);
}

static void run_command(char *line)
{
	char *words[MAX_WORDS];
	u32 count = split_words(line, words, MAX_WORDS);

	if (count == 0)
		return;
	if (count > MAX_WORDS) {
		gprintf("host: error too many words\n");
		return;
	}
	if (strcmp(words[0], "info") == 0)
		cmd_info();
	else if (strcmp(words[0], "register") == 0)
		cmd_register(words + 1, count - 1);
	else if (strcmp(words[0], "hc") == 0)
		cmd_hc(words + 1, count - 1);
	else if (strcmp(words[0], "stats") == 0)
		gprintf("host: stats served=%u writes=%u errors=%u\n", served, writes, errors);
	else
		gprintf("host: error unknown command %s\n", words[0]);
}

/* --- The console's input. --- */

static char line[LINE_MAX + 1];
static u32 line_len;
static bool line_too_long;

static void take_byte(char c)
{
	if (c == '\r')
		return;
	if (c == '\n') {
		if (line_too_long) {
			gprintf("host: error line too long\n");
		} else {
			line[line_len] = '\0';
			run_command(line);
		}
		line_len = 0;
		line_too_long = false;
		return;
	}
	if (line_len == LINE_MAX)
		line_too_long = true;
	else
		line[line_len++] = c;
}

/* Take what has arrived (a bounded number per turn, so requests are served too);
 * returns how many bytes. */
static u32 poll_console(void)
{
	u32 n = 0;

	for (; n < 64; n++) {
		struct hc_result r = hypercall(HC_INPUT, OVM_IO_CONSOLE + OVM_CONSOLE_DATA, 0, 0);
		if (r.status != OVM_OK || r.r1 == OVM_CONSOLE_EMPTY)
			break;
		take_byte((char)r.r1);
	}
	return n;
}

/*
 * Nothing to do: sleep until an interrupt instead of polling OVM (each poll
 * takes OVM's console or request lock, which the other core needs too). OVM
 * kicks this core when a request is queued; the virtual timer bounds the
 * sleep, so input is seen within IDLE_WAKE_US even on a tickless core.
 */
static void idle(void)
{
	u64 at = now_ticks() + us_to_ticks(IDLE_WAKE_US);

	hypercall(HC_VTIMER_SET, (u32)at, (u32)(at >> 32), 0);
	wait_for_interrupt();
}

void guest_main(u32 vcpu_id, u32 vcpu_count, u32 arg0, u32 arg1)
{
	(void)vcpu_id;
	(void)vcpu_count;
	(void)arg0;
	(void)arg1;
	platform_init();
	irqs_on();

	gprintf("host: ready abi=%u\n", OVM_ABI_VERSION);
	for (;;) {
		u32 work = poll_console();
		work += serve_io();
		if (!work)
			idle();
	}
}
