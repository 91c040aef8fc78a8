#include <arch/arch.h>
#include <core/console.h>
#include <core/vm.h>
#include <lib/string.h>

struct cpu cpus[OVM_MAX_CORES];

static struct vm vms[OVM_MAX_VMS];
static struct vcpu vcpus[OVM_MAX_VCPUS];
static u32 vcpu_count;

static void load_image(const struct vm_config *config)
{
	u32 size = (u32)(config->image_end - config->image_start);

	memset((void *)(uintptr_t)config->mem_base, 0, config->mem_size);
	memcpy((void *)(uintptr_t)config->mem_base, config->image_start, size);
	arch_dcache_clean_range(config->mem_base, config->mem_size);
}

void vms_create(void)
{
	for (u32 id = 0; id < vm_config_count; id++) {
		const struct vm_config *config = &vm_configs[id];
		struct vm *vm = &vms[id];

		vm->config = config;
		vm->id = id;
		vm->console_at_line_start = true;
		load_image(config);
		for (u32 core = 0; core < board.cores; core++) {
			if (!(config->core_mask & BIT(core)))
				continue;
			struct vcpu *vcpu = &vcpus[vcpu_count++];
			vcpu->vm = vm;
			vcpu->id = vm->vcpu_count++;
			vcpu->core = core;
			arch_regs_init(&vcpu->regs, config->entry, vcpu->id, 0);
		}
		console_printf("[ovm] vm%u %s: guest '%s', level %s, memory %p-%p, cores 0x%x\n", id,
			       config->name, config->guest,
			       config->level == LEVEL_HRT   ? "HRT"
			       : config->level == LEVEL_SRT ? "SRT"
							    : "NRT",
			       (void *)(uintptr_t)config->mem_base,
			       (void *)(uintptr_t)(config->mem_base + config->mem_size - 1),
			       config->core_mask);
	}
	for (u32 i = 0; i < vcpu_count; i++)
		vcpus[i].regs.r[1] = vcpus[i].vm->vcpu_count;
}

struct vcpu *vcpu_first_on_core(u32 core)
{
	for (u32 i = 0; i < vcpu_count; i++)
		if (vcpus[i].core == core)
			return &vcpus[i];
	return NULL;
}
