/*
 * Guest I/O through OVM. A virtual device is a page of registers reached by
 * input/output hypercalls; a VM reaches the devices its configuration grants,
 * by its level's method:
 *   SRT, and the host: OVM's device function serves the access at once;
 *   NRT: the access is queued for the host, the vCPU blocks until the host's
 *        write_io answers, then resumes with the result and OVM_VIRQ_IO;
 *   HRT: never here (its devices are mapped, see arch_guest_map).
 * A core's own timers (private timer, watchdog) are hardware that OVM keeps
 * from the guests' writes: it serves them itself for every VM granted one.
 */
#include <arch/arch.h>
#include <arch/spinlock.h>
#include <core/console.h>
#include <core/io.h>
#include <core/vm.h>

typedef s32 (*device_fn)(struct vcpu *vcpu, u32 reg, bool write, u32 value, u32 *result);

struct io_device {
	u32 base;
	u32 grant;
	/* OVM's device function; NULL: only the host emulates the device. */
	device_fn serve;
	/* A core's own timer: OVM serves it whatever the caller's level. */
	bool core_timer;
};

static spinlock_t host_lock;
static u32 host_seq;

/* The shared console (console.c): a byte of the VM's output, its queue's figures, and
 * for the host, what the lab types. */
static s32 console_access(struct vcpu *vcpu, u32 reg, bool write, u32 value, u32 *result)
{
	if (reg == OVM_CONSOLE_DATA && !write) {
		if (!vcpu->vm->config->host)
			return OVM_E_PERM;
		int c = console_getc();
		*result = c < 0 ? OVM_CONSOLE_EMPTY : (u32)c;
		return OVM_OK;
	}
	if (reg == OVM_CONSOLE_DATA) {
		char c = (char)value;
		return console_queue_write(vcpu->vm->id, &c, 1);
	}
	return write ? OVM_E_INVAL : console_queue_stat(vcpu->vm->id, reg, result);
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

/* The caller's core's own timers, after OVM's checks (watchdog mode never). */
static s32 ptimer_access(struct vcpu *vcpu, u32 reg, bool write, u32 value, u32 *result)
{
	(void)vcpu;
	return arch_core_timer_access(ARCH_PRIVATE_TIMER, reg, write, value, result) ? OVM_OK
										      : OVM_E_INVAL;
}

static s32 watchdog_access(struct vcpu *vcpu, u32 reg, bool write, u32 value, u32 *result)
{
	(void)vcpu;
	return arch_core_timer_access(ARCH_WATCHDOG, reg, write, value, result) ? OVM_OK
										 : OVM_E_INVAL;
}

static const struct io_device devices[] = {
	{ OVM_IO_CONSOLE, OVM_IO_GRANT_CONSOLE, console_access, false },
	{ OVM_IO_TIMER, OVM_IO_GRANT_TIMER, timer_access, false },
	{ OVM_IO_HOSTDEV, OVM_IO_GRANT_HOSTDEV, NULL, false },
	{ OVM_IO_PTIMER, OVM_IO_GRANT_PTIMER, ptimer_access, true },
	{ OVM_IO_WATCHDOG, OVM_IO_GRANT_WATCHDOG, watchdog_access, true },
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

/*
 * A host that sleeps in WFI when it has nothing to do learns of a request at once:
 * the bare-metal host by a kick of its core, a Linux host by its doorbell, which
 * its module takes as an interrupt (directly while Linux holds its core, at its
 * next dispatch otherwise). A doorbell rung while one is pending is one interrupt:
 * the module takes every queued request per interrupt.
 */
static void wake_host(void)
{
	for (u32 i = 0; i < vcpu_count; i++) {
		const struct vm_config *config = vcpus[i].vm->config;
		if (!config->host)
			continue;
		if (config->linux && config->linux->doorbell_irq)
			arch_irq_pend(config->linux->doorbell_irq);
		else
			core_kick(vcpus[i].core);
	}
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
	if (device->core_timer)
		return device->serve(vcpu, reg, write, value, result);
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
