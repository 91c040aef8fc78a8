#include <arch/arch.h>
#include <core/console.h>
#include <core/hypercall.h>
#include <core/irq.h>
#include <core/vm.h>
#include <lib/string.h>

struct cpu cpus[OVM_MAX_CORES];
struct vm vms[OVM_MAX_VMS];
struct vcpu vcpus[OVM_MAX_VCPUS];
volatile u32 vcpu_count;

/* The non-secure CP15 state as reset left it: every vCPU starts from it. */
static struct arch_context reset_context;
/* Configurations of the VMs `register` started, one per run-time image. */
static struct vm_config registered_configs[OVM_MAX_VMS];
/* Serializes `register`s: the image slots, names and the vCPU table. */
static spinlock_t registry_lock;

static const char *const level_names[] = { "HRT", "SRT", "NRT" };

static const char *const attach_errors[] = {
	[-SCHED_E_OCCUPIED] = "the core is occupied by an HRT vCPU",
	[-SCHED_E_NOT_EMPTY] = "an HRT vCPU needs a core with empty queues",
	[-SCHED_E_FULL] = "the core's queues are full",
};

static void clear_memory(u32 base, u32 size)
{
	memzero(base, size);
	arch_dcache_clean_range(base, size);
}

static void load_part(u32 base, const u8 *start, const u8 *end)
{
	u32 size = (u32)(end - start);

	memcpy_bulk((void *)(uintptr_t)base, start, size);
	arch_dcache_clean_range(base, size);
}

/* Into memory cleared at boot: the guest clears its own .bss. */
static void copy_image(const struct vm_config *config)
{
	load_part(config->mem_base + config->image_offset, config->image_start, config->image_end);
}

/*
 * The image, and a Linux VM's device tree and initramfs, with the rest of the region
 * cleared: the tooling placed the parts in this order, apart, inside the region.
 */
static void load_vm(const struct vm_config *config)
{
	const struct linux_boot *linux = config->linux;
	struct {
		u32 offset;
		const u8 *start, *end;
	} parts[3] = { { config->image_offset, config->image_start, config->image_end } };
	u32 count = 1;

	if (linux) {
		parts[1].offset = linux->dtb_offset;
		parts[1].start = linux->dtb_start;
		parts[1].end = linux->dtb_end;
		parts[2].offset = linux->initrd_offset;
		parts[2].start = linux->initrd_start;
		parts[2].end = linux->initrd_end;
		count = 3;
	}
	u32 cleared = 0;
	for (u32 i = 0; i < count; i++) {
		clear_memory(config->mem_base + cleared, parts[i].offset - cleared);
		load_part(config->mem_base + parts[i].offset, parts[i].start, parts[i].end);
		cleared = parts[i].offset + (u32)(parts[i].end - parts[i].start);
	}
	clear_memory(config->mem_base + cleared, config->mem_size - cleared);
}

static void create_vcpu(struct vm *vm, u32 core)
{
	const struct vm_config *config = vm->config;
	struct vcpu *vcpu = &vcpus[vcpu_count];
	struct runqueue *rq = &cpus[core].rq;

	enum sched_status status = sched_attach(rq, &vcpu->se, config->level, vcpu_count);
	if (status != SCHED_OK) {
		console_printf("[ovm] vm%u %s: vCPU on core %u refused: %s\n", vm->id, config->name,
			       core, attach_errors[-status]);
		return;
	}
	vcpu->vm = vm;
	vcpu->id = vm->vcpu_count++;
	vcpu_count++;
	vcpu->core = core;
	vcpu->lines = &irq_lines[core];
	bool user = config->privilege == PRIVILEGE_USER;
	vcpu->upcall = (struct arch_upcall){ .user = user, .area = &arch_upcall_unset };
	vcpu->ctx = reset_context;
	vcpu->extras = (config->fpu ? VCPU_EXTRA_FPU : 0) | (user ? 0 : VCPU_EXTRA_DIRECT_IRQS);
	arch_fpu_init(&vcpu->fpu, user);
	vcpu->direct_irqs_mask = ARCH_DIRECT_IRQS_RESET_MASK;
	if (config->linux) {
		/* The ARM Linux boot protocol: MMU and caches off (as reset left them), r0 = 0,
		 * r1 = the machine, r2 = the device tree. */
		const u32 args[4] = { 0, config->linux->machine_id,
				      config->mem_base + config->linux->dtb_offset, 0 };
		arch_regs_init(&vcpu->regs, config->entry, args, false);
		return;
	}
	arch_context_use_table(&vcpu->ctx, vm->id, user);
	/* The vCPU count is known once all are created: vms_create fills in r1. */
	const u32 args[4] = { vcpu->id, 0, config->args[0], config->args[1] };
	arch_regs_init(&vcpu->regs, config->entry, args, user);
}

static void setup_vm(struct vm *vm, u32 id, const struct vm_config *config)
{
	vm->config = config;
	vm->id = id;
	load_vm(config);
	struct guest_mapping mapping = arch_guest_map(id, config);
	console_printf("[ovm] vm%u %s: guest '%s', level %s, %s mode, memory %p-%p "
		       "(%u supersections, %u sections), cores 0x%x\n",
		       id, config->name, config->guest, level_names[config->level],
		       config->privilege == PRIVILEGE_KERNEL ? "supervisor" : "user",
		       (void *)(uintptr_t)config->mem_base,
		       (void *)(uintptr_t)(config->mem_base + config->mem_size - 1),
		       mapping.supersections, mapping.sections, config->core_mask);
	if (config->device_count)
		console_printf("[ovm] vm%u %s: %u device(s) passed through, %u page(s) mapped\n", id,
			       config->name, config->device_count, mapping.device_pages);
}

void vms_create(void)
{
	arch_context_save(&reset_context);
	arch_shim_init();
	for (u32 core = 0; core < board.cores; core++)
		sched_init(&cpus[core].rq, core, arch_us_to_ticks(sched_config.nrt_slice_us),
			   arch_us_to_ticks(sched_config.min_period_us));

	for (u32 id = 0; id < vm_config_count; id++) {
		const struct vm_config *config = &vm_configs[id];
		struct vm *vm = &vms[id];

		setup_vm(vm, id, config);
		for (u32 core = 0; core < board.cores; core++)
			if (config->core_mask & BIT(core))
				create_vcpu(vm, core);
	}
	/* Cores whose timers a guest reads itself: a supervisor-mode guest's, and those of a
	 * user-mode guest granted one, whose writes go through OVM (its table maps the
	 * timers read-only). */
	u32 timer_cores = 0;
	for (u32 i = 0; i < vcpu_count; i++) {
		if (!vcpus[i].vm->config->linux)
			vcpus[i].regs.r[1] = vcpus[i].vm->vcpu_count;
		if (!vcpus[i].upcall.user ||
		    (vcpus[i].vm->config->io & (OVM_IO_GRANT_PTIMER | OVM_IO_GRANT_WATCHDOG)))
			timer_cores |= BIT(vcpus[i].core);
	}
	arch_core_timers_grant(timer_cores);
	/* Now, not at `register`: clearing megabytes there would hold up the host's core. */
	for (u32 i = 0; i < runtime_image_count; i++)
		clear_memory(runtime_images[i].mem_base, runtime_images[i].mem_size);
	self_check_record();
}

void vms_hold(bool hold)
{
	if (hold)
		spin_lock(&registry_lock);
	else
		spin_unlock(&registry_lock);
}

/* Run-time configurations, checked as the build tooling checks a scenario's VMs. */

#define MIB (1u << 20)

static bool valid_name(const char *name)
{
	if (name[0] < 'a' || name[0] > 'z')
		return false;
	for (u32 i = 1; i < OVM_NAME_SIZE; i++) {
		char c = name[i];
		if (c == 0)
			return true;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return false;
}

static bool terminated(const char *text)
{
	for (u32 i = 0; i < OVM_NAME_SIZE; i++)
		if (text[i] == 0)
			return true;
	return false;
}

static const struct runtime_image *image_named(const char *guest, u32 *index)
{
	for (u32 i = 0; i < runtime_image_count; i++)
		if (strcmp(runtime_images[i].guest, guest) == 0) {
			*index = i;
			return &runtime_images[i];
		}
	return NULL;
}

/* Which virtual devices a level reaches, and by whose hand (see io.c). */
static u32 grantable(const struct ovm_vm_request *r)
{
	switch (r->level) {
	case LEVEL_SRT:
		return OVM_IO_GRANT_CONSOLE | OVM_IO_GRANT_TIMER;
	case LEVEL_NRT:
		return OVM_IO_GRANT_HOSTDEV;
	default:
		return 0;
	}
}

static bool has_reservation(const struct ovm_vm_request *r)
{
	return r->deadline_us || r->period_us || r->budget_us;
}

/* What admission does not check: the parameters themselves are the scheduler's to judge. */
static s32 check_request(const struct ovm_vm_request *r, const struct runtime_image *image)
{
	u32 image_size = (u32)(image->image_end - image->image_start);

	if (!valid_name(r->name) || r->level > LEVEL_NRT)
		return OVM_E_INVAL;
	if (!r->core_mask || r->core_mask >= BIT(board.cores))
		return OVM_E_INVAL;
	if (!r->mem_size || r->mem_size % MIB || r->mem_size > image->mem_size ||
	    r->mem_size < image_size)
		return OVM_E_INVAL;
	if (has_reservation(r) && (r->level != LEVEL_SRT || r->period_us > OVM_MAX_PERIOD_US))
		return OVM_E_INVAL;
	if (r->io & ~grantable(r))
		return OVM_E_INVAL;
	return OVM_OK;
}

static s32 status_of(enum sched_status status)
{
	switch (status) {
	case SCHED_OK:
		return OVM_OK;
	case SCHED_E_FULL:
		return OVM_E_BUSY;
	case SCHED_E_INVAL:
	case SCHED_E_LEVEL:
		return OVM_E_INVAL;
	default:
		return OVM_E_OVERLOAD;
	}
}

/* On every core of the mask, with its lock held: would the VM's vCPU be admitted? */
static s32 admit(const struct ovm_vm_request *r)
{
	for (u32 core = 0; core < board.cores; core++) {
		if (!(r->core_mask & BIT(core)))
			continue;
		const struct runqueue *rq = &cpus[core].rq;
		enum sched_status status = sched_can_attach(rq, r->level);
		if (status == SCHED_OK && has_reservation(r))
			status = sched_admissible(rq, NULL, arch_us_to_ticks(r->deadline_us),
						  arch_us_to_ticks(r->period_us),
						  arch_us_to_ticks(r->budget_us));
		if (status != SCHED_OK)
			return status_of(status);
	}
	return OVM_OK;
}

static void lock_cores(u32 mask, bool lock)
{
	for (u32 core = 0; core < board.cores; core++)
		if (mask & BIT(core)) {
			if (lock)
				spin_lock(&cpus[core].lock);
			else
				spin_unlock(&cpus[core].lock);
		}
}

static bool name_taken(const char *name)
{
	for (u32 id = 0; id < OVM_MAX_VMS; id++)
		if (vms[id].config && strcmp(vms[id].config->name, name) == 0)
			return true;
	return false;
}

static void fill_config(struct vm_config *config, const struct ovm_vm_request *r,
			const struct runtime_image *image)
{
	*config = (struct vm_config){
		.name = config->name,
		.guest = image->guest,
		.level = (enum rt_level)r->level,
		.core_mask = r->core_mask,
		.mem_base = image->mem_base,
		.mem_size = r->mem_size,
		.entry = image->mem_base,
		.image_start = image->image_start,
		.image_end = image->image_end,
		.rt = { r->deadline_us, r->period_us, r->budget_us },
		.args = { r->args[0], r->args[1] },
		.io = r->io,
	};
}

/* Attach every vCPU (admission already passed) and declare the reservation. */
static void start_vcpus(struct vm *vm)
{
	const struct vm_config *config = vm->config;
	u32 first = vcpu_count;

	for (u32 core = 0; core < board.cores; core++) {
		if (!(config->core_mask & BIT(core)))
			continue;
		create_vcpu(vm, core);
		struct vcpu *vcpu = &vcpus[vcpu_count - 1];
		if (config->rt.period_us)
			sched_set_realtime(&cpus[core].rq, &vcpu->se, core_release_time(&cpus[core]),
					   arch_us_to_ticks(config->rt.deadline_us),
					   arch_us_to_ticks(config->rt.period_us),
					   arch_us_to_ticks(config->rt.budget_us));
	}
	for (u32 i = first; i < vcpu_count; i++)
		vcpus[i].regs.r[1] = vm->vcpu_count;
}

s32 vm_register(const struct ovm_vm_request *request, u32 *id)
{
	/* The host could change its copy while OVM reads it: check and use this one. */
	static struct ovm_vm_request r;
	static char names[OVM_MAX_VMS][OVM_NAME_SIZE];
	u32 index;

	spin_lock(&registry_lock);
	r = *request;
	const struct runtime_image *image = terminated(r.guest) ? image_named(r.guest, &index) : NULL;
	s32 status = image ? check_request(&r, image) : OVM_E_NOENT;
	u32 new_id = vm_config_count + (image ? index : 0);
	if (status == OVM_OK && (name_taken(r.name) || vms[new_id].config ||
				 vcpu_count + (u32)__builtin_popcount(r.core_mask) > OVM_MAX_VCPUS))
		status = OVM_E_BUSY;
	if (status != OVM_OK) {
		spin_unlock(&registry_lock);
		return status;
	}
	/* Admission first: a refused VM costs its cores no more than this look. */
	lock_cores(r.core_mask, true);
	status = admit(&r);
	lock_cores(r.core_mask, false);
	if (status != OVM_OK) {
		spin_unlock(&registry_lock);
		return status;
	}
	struct vm_config *config = &registered_configs[index];
	memcpy(names[index], r.name, OVM_NAME_SIZE);
	config->name = names[index];
	fill_config(config, &r, image);
	/* Nothing runs from this memory yet: load it without holding any core's queues. */
	copy_image(config);
	arch_guest_map(new_id, config);
	self_check_record_vm(new_id);

	/* The cores' queues may have changed meanwhile: admit again, and start it at once. */
	lock_cores(r.core_mask, true);
	status = admit(&r);
	if (status == OVM_OK) {
		struct vm *vm = &vms[new_id];
		*vm = (struct vm){ .config = config, .id = new_id, .registered = true };
		start_vcpus(vm);
	}
	lock_cores(r.core_mask, false);
	if (status == OVM_OK) {
		console_printf("[ovm] vm%u %s: registered at run time: guest '%s', level %s, "
			       "memory %p-%p, cores 0x%x\n",
			       new_id, config->name, config->guest, level_names[config->level],
			       (void *)(uintptr_t)config->mem_base,
			       (void *)(uintptr_t)(config->mem_base + config->mem_size - 1),
			       config->core_mask);
		for (u32 core = 0; core < board.cores; core++)
			if (r.core_mask & BIT(core))
				core_kick(core);
		*id = new_id;
	}
	spin_unlock(&registry_lock);
	return status;
}
