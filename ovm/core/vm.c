#include <arch/arch.h>
#include <core/console.h>
#include <core/irq.h>
#include <core/vm.h>
#include <lib/string.h>

struct cpu cpus[OVM_MAX_CORES];
struct vm vms[OVM_MAX_VMS];
struct vcpu vcpus[OVM_MAX_VCPUS];
u32 vcpu_count;

static const char *const level_names[] = { "HRT", "SRT", "NRT" };

static const char *const attach_errors[] = {
	[-SCHED_E_OCCUPIED] = "the core is occupied by an HRT vCPU",
	[-SCHED_E_NOT_EMPTY] = "an HRT vCPU needs a core with empty queues",
	[-SCHED_E_FULL] = "the core's queues are full",
};

static void load_image(const struct vm_config *config)
{
	u32 size = (u32)(config->image_end - config->image_start);

	memset((void *)(uintptr_t)config->mem_base, 0, config->mem_size);
	memcpy((void *)(uintptr_t)config->mem_base, config->image_start, size);
	arch_dcache_clean_range(config->mem_base, config->mem_size);
}

static void create_vcpu(struct vm *vm, u32 core, const struct arch_context *reset)
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
	vcpu->ctx = *reset;
	arch_context_use_table(&vcpu->ctx, vm->id);
	/* The vCPU count is known once all are created: vms_create fills in r1. */
	const u32 args[4] = { vcpu->id, 0, config->args[0], config->args[1] };
	arch_regs_init(&vcpu->regs, config->entry, args);
}

void vms_create(void)
{
	struct arch_context reset;

	/* The non-secure CP15 state as reset left it: every vCPU starts from it. */
	arch_context_save(&reset);
	for (u32 core = 0; core < board.cores; core++)
		sched_init(&cpus[core].rq, core, arch_us_to_ticks(sched_config.nrt_slice_us),
			   arch_us_to_ticks(sched_config.min_period_us));

	for (u32 id = 0; id < vm_config_count; id++) {
		const struct vm_config *config = &vm_configs[id];
		struct vm *vm = &vms[id];

		vm->config = config;
		vm->id = id;
		vm->console_at_line_start = true;
		load_image(config);
		struct guest_mapping mapping = arch_guest_map(id, config);
		console_printf("[ovm] vm%u %s: guest '%s', level %s, memory %p-%p "
			       "(%u supersections, %u sections), cores 0x%x\n",
			       id, config->name, config->guest, level_names[config->level],
			       (void *)(uintptr_t)config->mem_base,
			       (void *)(uintptr_t)(config->mem_base + config->mem_size - 1),
			       mapping.supersections, mapping.sections, config->core_mask);
		if (config->device_count)
			console_printf("[ovm] vm%u %s: %u device(s) passed through, %u page(s) mapped\n",
				       id, config->name, config->device_count, mapping.device_pages);
		for (u32 core = 0; core < board.cores; core++)
			if (config->core_mask & BIT(core))
				create_vcpu(vm, core, &reset);
	}
	for (u32 i = 0; i < vcpu_count; i++)
		vcpus[i].regs.r[1] = vcpus[i].vm->vcpu_count;
}
