/*
 * Runs the host guest (ovm/guests/host/main.c) on the build machine, in place of
 * OVM: its hypercalls land here. The guest runs as a coroutine on a stack in this
 * library's own memory, so that the 32-bit addresses it passes in hypercalls
 * (its statics and its stack) are those of this library's pages, whose upper
 * address bits the harness puts back. host_run() resumes the guest until it has
 * polled an empty console and I/O queue a few times, then returns what it printed.
 */
#include <ucontext.h>

#include "guest.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

#define STACK_SIZE (256 * 1024)
#define OUT_SIZE (64 * 1024)
#define IO_MAX 64
#define IDLE_POLLS 3

static char guest_stack[STACK_SIZE] __attribute__((aligned(16)));
static ucontext_t runner, guest;
static int started;

static char output[OUT_SIZE];
static u32 out_len;
static int at_line_start = 1;

static const char *input;
static u32 idle_polls;

static struct {
	u32 r1, addr, value;
} io_queue[IO_MAX];
static u32 io_head, io_tail;

/* What the guest answered with HC_WRITE_IO. */
u32 answer_vcpu[IO_MAX], answer_result[IO_MAX];
s32 answer_status[IO_MAX];
u32 answer_count;

/* HC_INFO and HC_REGISTER as the test sets them up; what the guest sent. */
static struct ovm_info info;
static s32 info_status;
static struct ovm_vm_request last_request;
u32 register_calls;
static s32 register_status;
static u32 register_vm;

/* The guest armed its virtual timer (before it sleeps). */
u32 vtimer_sets;

/* Any other hypercall: recorded, answered with what host_set_other gave. */
u32 other_index, other_args[3], other_calls;
static struct hc_result other_result;

static void *addr_of(u32 a)
{
	return (void *)(((uintptr_t)guest_stack & ~(uintptr_t)0xffffffffu) | a);
}

int host_addresses_ok(void)
{
	uintptr_t high = (uintptr_t)guest_stack >> 16 >> 16;
	return ((uintptr_t)(guest_stack + STACK_SIZE) >> 16 >> 16) == high &&
	       ((uintptr_t)&last_request >> 16 >> 16) == high &&
	       ((uintptr_t)&info >> 16 >> 16) == high;
}

static void guest_entry(void)
{
	guest_main(0, 1, 0, 0);
}

const char *host_run(const char *text)
{
	input = text;
	idle_polls = 0;
	out_len = 0;
	if (!started) {
		getcontext(&guest);
		guest.uc_stack.ss_sp = guest_stack;
		guest.uc_stack.ss_size = sizeof(guest_stack);
		guest.uc_link = &runner;
		makecontext(&guest, guest_entry, 0);
		started = 1;
	}
	swapcontext(&runner, &guest);
	output[out_len] = '\0';
	return output;
}

void host_queue_io(u32 r1, u32 addr, u32 value)
{
	io_queue[io_tail % IO_MAX].r1 = r1;
	io_queue[io_tail % IO_MAX].addr = addr;
	io_queue[io_tail % IO_MAX].value = value;
	io_tail++;
}

void host_info_reset(s32 status)
{
	memset(&info, 0, sizeof(info));
	info_status = status;
	info.abi_version = OVM_ABI_VERSION;
}

void host_info_vm(const char *name, u32 id, u32 level, u32 cores, u32 base, u32 size,
		  u32 vcpus, u32 io, u32 registered)
{
	struct ovm_info_vm *vm = &info.vms[info.vm_count++];
	memset(vm->name, 0, sizeof(vm->name));
	for (u32 i = 0; i < sizeof(vm->name) && name[i]; i++)
		vm->name[i] = name[i];
	vm->id = id;
	vm->level = level;
	vm->core_mask = cores;
	vm->mem_base = base;
	vm->mem_size = size;
	vm->vcpus = vcpus;
	vm->io = io;
	vm->registered = registered;
}

void host_info_vcpu(u32 vm, u32 id, u32 core, u32 state, u32 jobs, u32 misses)
{
	struct ovm_info_vcpu *v = &info.vcpus[info.vcpu_count++];
	v->vm = vm;
	v->id = id;
	v->core = core;
	v->state = state;
	v->jobs_done = jobs;
	v->misses = misses;
}

void host_set_register(s32 status, u32 vm)
{
	register_status = status;
	register_vm = vm;
}

const struct ovm_vm_request *host_last_request(void)
{
	return &last_request;
}

void host_set_other(s32 status, u32 r1, u32 r2, u32 r3)
{
	other_result = (struct hc_result){ status, r1, r2, r3 };
}

void platform_init(void)
{
}

static void console_write(const char *text, u32 len)
{
	for (u32 i = 0; i < len && out_len + 8 < OUT_SIZE; i++) {
		if (at_line_start) {
			memcpy(output + out_len, "[host] ", 7);
			out_len += 7;
		}
		output[out_len++] = text[i];
		at_line_start = text[i] == '\n';
	}
}

/* As lib/ovm/platform.c: gprintf's lines go to OVM's console_write. */
void platform_console_write(const char *text, u32 len)
{
	hypercall(HC_CONSOLE_WRITE, (u32)(uintptr_t)text, len, 0);
}

struct hc_result hypercall(u32 index, u32 a1, u32 a2, u32 a3)
{
	struct hc_result r = { OVM_OK, 0, 0, 0 };

	switch (index) {
	case HC_CONSOLE_WRITE:
		console_write(addr_of(a1), a2);
		break;
	case HC_VTIMER_SET:
		vtimer_sets++;
		break;
	case HC_INPUT:
		if (a1 != OVM_IO_CONSOLE + OVM_CONSOLE_DATA) {
			r.status = OVM_E_NODEV;
		} else if (input && *input) {
			r.r1 = (u8)*input++;
			idle_polls = 0;
		} else {
			r.r1 = OVM_CONSOLE_EMPTY;
			if (io_head == io_tail && ++idle_polls >= IDLE_POLLS)
				swapcontext(&guest, &runner);
		}
		break;
	case HC_READ_IO:
		if (io_head == io_tail) {
			r.status = OVM_E_AGAIN;
		} else {
			r.r1 = io_queue[io_head % IO_MAX].r1;
			r.r2 = io_queue[io_head % IO_MAX].addr;
			r.r3 = io_queue[io_head % IO_MAX].value;
			io_head++;
		}
		break;
	case HC_WRITE_IO:
		answer_vcpu[answer_count % IO_MAX] = a1;
		answer_result[answer_count % IO_MAX] = a2;
		answer_status[answer_count % IO_MAX] = (s32)a3;
		answer_count++;
		break;
	case HC_INFO:
		if (a2 != sizeof(info))
			r.status = OVM_E_INVAL;
		else if ((r.status = info_status) == OVM_OK)
			memcpy(addr_of(a1), &info, sizeof(info));
		break;
	case HC_REGISTER:
		register_calls++;
		if (a2 != sizeof(last_request)) {
			r.status = OVM_E_INVAL;
			break;
		}
		memcpy(&last_request, addr_of(a1), sizeof(last_request));
		r.status = register_status;
		r.r1 = register_status == OVM_OK ? register_vm : 0;
		break;
	default:
		other_index = index;
		other_args[0] = a1;
		other_args[1] = a2;
		other_args[2] = a3;
		other_calls++;
		r = other_result;
	}
	return r;
}

u32 host_sizeof_info(void)
{
	return sizeof(struct ovm_info);
}

u32 host_sizeof_request(void)
{
	return sizeof(struct ovm_vm_request);
}
