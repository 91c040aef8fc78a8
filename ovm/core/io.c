/*
 * Guest I/O through OVM. A virtual device is a page of registers reached by
 * input/output hypercalls; a VM reaches the devices its configuration grants,
 * by its level's method:
 *   SRT, and the host: OVM's device function serves the access at once;
 *   NRT: the access is queued for the host, the vCPU blocks until the host's
 *        write_io answers, then resumes with the result and OVM_VIRQ_IO;
 *   HRT: never here (its devices are mapped, see arch_guest_map).
 */
#include <arch/arch.h>
#include <arch/spinlock.h>
#include <core/console.h>
#include <core/io.h>
#include <core/vm.h>

/* A line longer than this is broken, so that a VM's queue always holds a whole line. */
#define CONSOLE_LINE_MAX 128
/* Complete lines a VM may have queued. */
#define CONSOLE_LINES 32

typedef s32 (*device_fn)(struct vcpu *vcpu, u32 reg, bool write, u32 value, u32 *result);

struct io_device {
	u32 base;
	u32 grant;
	/* OVM's device function; NULL: only the host emulates the device. */
	device_fn serve;
};

/*
 * The console's sharing: every round each VM's credit grows by
 * bytes_per_round (up to a line's worth beyond it) and its complete lines go
 * out whole while the credit lasts. A VM's line of at most bytes_per_round
 * bytes is therefore out within two rounds of its newline, whatever the
 * others write; a VM that writes faster than its share finds its queue full
 * (OVM_E_AGAIN) instead of delaying anyone.
 */
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
	u32 credit;
	u64 max_delay;
	u32 throttled;
};

static struct {
	spinlock_t lock;
	struct console_queue queues[OVM_MAX_VMS];
	/* Read without the lock by every exit path: 0 when nothing is queued. */
	volatile u64 next_round;
	u32 first;
} console_proxy;

static spinlock_t host_lock;
static u32 host_seq;

static struct console_queue *queue_of(const struct vcpu *vcpu)
{
	return &console_proxy.queues[vcpu->vm->id];
}

static u32 credit_cap(void)
{
	return console_config.bytes_per_round + CONSOLE_LINE_MAX;
}

static void queue_line_end(struct console_queue *q, u64 now)
{
	u32 slot = (q->line_head + q->lines) % CONSOLE_LINES;

	q->line_len[slot] = q->partial;
	q->line_end[slot] = now;
	q->lines++;
	q->partial = 0;
	if (!console_proxy.next_round)
		console_proxy.next_round = now + arch_us_to_ticks(console_config.round_us);
}

static bool queue_put(struct console_queue *q, char c, u64 now)
{
	bool breaks = c != '\n' && q->partial + 1 == CONSOLE_LINE_MAX;
	u32 needed = breaks ? 2 : 1;

	if (q->count + needed > OVM_CONSOLE_QUEUE || q->lines + needed > CONSOLE_LINES)
		return false;
	q->bytes[(q->head + q->count++) % OVM_CONSOLE_QUEUE] = c;
	q->partial++;
	if (breaks) {
		q->bytes[(q->head + q->count++) % OVM_CONSOLE_QUEUE] = '\n';
		q->partial++;
	}
	if (c == '\n' || breaks)
		queue_line_end(q, now);
	return true;
}

/* The VM's oldest line, straight from the ring (it may wrap). */
static void send_line(struct vm *vm, struct console_queue *q, u64 now)
{
	u32 len = q->line_len[q->line_head];
	u32 first = OVM_CONSOLE_QUEUE - q->head;

	if (first > len)
		first = len;
	console_write_guest(vm->config->name, &q->bytes[q->head], first, &vm->console_at_line_start);
	if (len > first)
		console_write_guest(vm->config->name, q->bytes, len - first,
				    &vm->console_at_line_start);
	u64 delay = now - q->line_end[q->line_head];
	if (delay > q->max_delay)
		q->max_delay = delay;
	q->head = (q->head + len) % OVM_CONSOLE_QUEUE;
	q->count -= len;
	q->credit -= len;
	q->line_head = (q->line_head + 1) % CONSOLE_LINES;
	q->lines--;
}

static void serve_round(u64 now)
{
	bool left = false;

	for (u32 n = 0; n < OVM_MAX_VMS; n++) {
		u32 id = (console_proxy.first + n) % OVM_MAX_VMS;
		struct console_queue *q = &console_proxy.queues[id];
		if (!q->lines)
			continue;
		q->credit += console_config.bytes_per_round;
		if (q->credit > credit_cap())
			q->credit = credit_cap();
		while (q->lines && q->line_len[q->line_head] <= q->credit)
			send_line(&vms[id], q, now);
		left |= q->lines != 0;
	}
	console_proxy.first = (console_proxy.first + 1) % OVM_MAX_VMS;
	console_proxy.next_round = left ? now + arch_us_to_ticks(console_config.round_us) : 0;
}

void console_proxy_service(u64 now)
{
	u64 due = console_proxy.next_round;

	if (!due || now < due)
		return;
	spin_lock(&console_proxy.lock);
	due = console_proxy.next_round;
	if (due && now >= due)
		serve_round(now);
	spin_unlock(&console_proxy.lock);
}

u64 console_proxy_next(void)
{
	u64 due = console_proxy.next_round;

	return due ? due : SCHED_NEVER;
}

static s32 console_access(struct vcpu *vcpu, u32 reg, bool write, u32 value, u32 *result)
{
	struct console_queue *q = queue_of(vcpu);
	s32 status = OVM_OK;

	if (reg == OVM_CONSOLE_DATA && !write) {
		/* What the lab types is for the host's command console alone. */
		if (!vcpu->vm->config->host)
			return OVM_E_PERM;
		int c = console_getc();
		*result = c < 0 ? OVM_CONSOLE_EMPTY : (u32)c;
		return OVM_OK;
	}
	spin_lock(&console_proxy.lock);
	if (reg == OVM_CONSOLE_DATA && write) {
		if (!queue_put(q, (char)value, arch_now())) {
			q->throttled++;
			status = OVM_E_AGAIN;
		}
	} else if (write) {
		status = OVM_E_INVAL;
	} else if (reg == OVM_CONSOLE_PENDING) {
		*result = q->count;
	} else if (reg == OVM_CONSOLE_MAX_DELAY) {
		*result = (u32)q->max_delay;
	} else if (reg == OVM_CONSOLE_THROTTLED) {
		*result = q->throttled;
	} else {
		status = OVM_E_INVAL;
	}
	spin_unlock(&console_proxy.lock);
	return status;
}

static s32 timer_access(struct vcpu *vcpu, u32 reg, bool write, u32 value, u32 *result)
{
	if (!write && reg == OVM_TIMER_COUNT_LO) {
		u64 now = arch_now();
		vcpu->io_timer_hi = (u32)(now >> 32);
		*result = (u32)now;
	} else if (!write && reg == OVM_TIMER_COUNT_HI) {
		*result = vcpu->io_timer_hi;
	} else if (write && reg == OVM_TIMER_COMPARE_LO) {
		vcpu->io_compare_lo = value;
	} else if (write && reg == OVM_TIMER_COMPARE_HI) {
		vcpu->vtimer = ((u64)value << 32) | vcpu->io_compare_lo;
		core_kick(vcpu->core);
	} else {
		return OVM_E_INVAL;
	}
	return OVM_OK;
}

static const struct io_device devices[] = {
	{ OVM_IO_CONSOLE, OVM_IO_GRANT_CONSOLE, console_access },
	{ OVM_IO_TIMER, OVM_IO_GRANT_TIMER, timer_access },
	{ OVM_IO_HOSTDEV, OVM_IO_GRANT_HOSTDEV, NULL },
};

static const struct io_device *device_at(u32 addr)
{
	for (u32 i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		if (addr - devices[i].base < OVM_IO_DEVICE_SIZE)
			return &devices[i];
	return NULL;
}

/* A device some HRT VM was given: it is touched directly or not at all. */
static bool passed_through(u32 addr)
{
	for (u32 v = 0; v < vm_config_count; v++)
		for (u32 d = 0; d < vm_configs[v].device_count; d++) {
			const struct device_map *map = &vm_configs[v].devices[d];
			if (addr - map->base < map->size)
				return true;
		}
	return false;
}

/* A host that sleeps in WFI when it has nothing to do learns of a request at once. */
static void wake_host(void)
{
	for (u32 i = 0; i < vcpu_count; i++)
		if (vcpus[i].vm->config->host)
			core_kick(vcpus[i].core);
}

/* Queue the access for the host. The vCPU is off the run queue before the host can
 * see the request, so its answer always finds it blocked. */
static s32 to_host(struct vcpu *vcpu, u32 addr, bool write, u32 value)
{
	struct cpu *cpu = &cpus[vcpu->core];

	spin_lock(&cpu->lock);
	sched_block(&cpu->rq, &vcpu->se, arch_now());
	spin_lock(&host_lock);
	vcpu->io = (struct io_request){
		.state = IO_QUEUED, .write = write, .addr = addr, .value = value, .seq = host_seq++
	};
	spin_unlock(&host_lock);
	spin_unlock(&cpu->lock);
	core_kick(vcpu->core);
	wake_host();
	return IO_BLOCKED;
}

s32 io_access(struct vcpu *vcpu, u32 addr, bool write, u32 value, u32 *result)
{
	const struct vm_config *config = vcpu->vm->config;
	const struct io_device *device = device_at(addr);

	if (!device)
		return passed_through(addr) ? OVM_E_PERM : OVM_E_NODEV;
	if (!(config->io & device->grant))
		return OVM_E_FAULT;
	u32 reg = addr - device->base;
	if (reg % 4)
		return OVM_E_INVAL;
	if (config->level == LEVEL_HRT)
		return OVM_E_PERM;
	if (config->level == LEVEL_NRT && !config->host)
		return to_host(vcpu, addr, write, value);
	if (!device->serve)
		return OVM_E_NODEV;
	return device->serve(vcpu, reg, write, value, result);
}

s32 io_take_request(u32 *vcpu_and_kind, u32 *addr, u32 *value)
{
	struct vcpu *oldest = NULL;

	spin_lock(&host_lock);
	for (u32 i = 0; i < vcpu_count; i++) {
		struct vcpu *v = &vcpus[i];
		if (v->io.state == IO_QUEUED && (!oldest || (s32)(v->io.seq - oldest->io.seq) < 0))
			oldest = v;
	}
	if (oldest) {
		oldest->io.state = IO_TAKEN;
		*vcpu_and_kind = (u32)(oldest - vcpus) | (oldest->io.write ? OVM_IO_REQ_WRITE : 0);
		*addr = oldest->io.addr;
		*value = oldest->io.write ? oldest->io.value : 0;
	}
	spin_unlock(&host_lock);
	return oldest ? OVM_OK : OVM_E_AGAIN;
}

s32 io_answer(u32 index, u32 result, u32 status)
{
	if (index >= vcpu_count)
		return OVM_E_INVAL;
	/* The guest gets OVM_OK or one of OVM's error codes, nothing else. */
	if ((s32)status > 0 || (s32)status < OVM_E_NODEV)
		return OVM_E_INVAL;
	struct vcpu *vcpu = &vcpus[index];
	spin_lock(&host_lock);
	bool taken = vcpu->io.state == IO_TAKEN;
	if (taken) {
		vcpu->io.state = IO_NONE;
		vcpu->regs.r[0] = status;
		vcpu->regs.r[1] = result;
	}
	spin_unlock(&host_lock);
	if (!taken)
		return OVM_E_NOENT;
	struct cpu *cpu = &cpus[vcpu->core];
	spin_lock(&cpu->lock);
	sched_unblock(&cpu->rq, &vcpu->se);
	vcpu->io_answered = true;
	spin_unlock(&cpu->lock);
	core_kick(vcpu->core);
	return OVM_OK;
}
