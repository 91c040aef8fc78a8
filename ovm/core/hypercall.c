/*
 * The hypercall table: r0 indexes it, each entry says who may call it. Every
 * argument comes from a guest and is checked before use.
 */
#include <arch/arch.h>
#include <core/console.h>
#include <core/vm.h>
#include <ovm/hypercall.h>

enum caller { ANY_GUEST, HOST_ONLY };

struct hypercall {
	const char *name;
	s32 (*handler)(struct vcpu *vcpu, u32 *args);
	enum caller allowed;
};

/* [addr, addr + len) lies inside the VM's memory, without wrapping. */
static bool in_grant(const struct vm *vm, u32 addr, u32 len)
{
	u32 base = vm->config->mem_base;
	u32 size = vm->config->mem_size;

	return addr >= base && addr - base <= size && len <= size - (addr - base);
}

static s32 hc_ping(struct vcpu *vcpu, u32 *args)
{
	(void)vcpu;
	args[1] = args[1] + 1;
	args[2] = OVM_ABI_VERSION;
	return OVM_OK;
}

static s32 hc_console_write(struct vcpu *vcpu, u32 *args)
{
	u32 addr = args[1], len = args[2];

	if (len > HC_CONSOLE_MAX)
		return OVM_E_INVAL;
	if (!in_grant(vcpu->vm, addr, len))
		return OVM_E_FAULT;
	console_write_guest(vcpu->vm->config->name, (const char *)(uintptr_t)addr, len,
			    &vcpu->vm->console_at_line_start);
	return OVM_OK;
}

static s32 hc_vcpu_info(struct vcpu *vcpu, u32 *args)
{
	args[1] = vcpu->vm->id;
	args[2] = vcpu->id;
	args[3] = vcpu->core;
	return OVM_OK;
}

static const struct hypercall hypercalls[HC_COUNT] = {
	[HC_PING] = { "ping", hc_ping, ANY_GUEST },
	[HC_CONSOLE_WRITE] = { "console_write", hc_console_write, ANY_GUEST },
	[HC_VCPU_INFO] = { "vcpu_info", hc_vcpu_info, ANY_GUEST },
};

static bool is_host(const struct vcpu *vcpu)
{
	(void)vcpu;
	return false;
}

struct arch_regs *hypercall_dispatch(struct arch_regs *regs)
{
	struct vcpu *vcpu = vcpu_of_regs(regs);
	u32 index = regs->r[0];

	if (vcpu->hypercalls++ == 0)
		console_printf("[ovm] core%u: first SMC from %s vcpu%u (non-secure cpsr=0x%x), "
			       "handled in monitor mode\n",
			       vcpu->core, vcpu->vm->config->name, vcpu->id, regs->cpsr);
	if (index >= HC_COUNT || !hypercalls[index].handler) {
		regs->r[0] = (u32)OVM_E_NOSYS;
		return regs;
	}
	const struct hypercall *hc = &hypercalls[index];
	if (hc->allowed == HOST_ONLY && !is_host(vcpu)) {
		regs->r[0] = (u32)OVM_E_PERM;
		return regs;
	}
	regs->r[0] = (u32)hc->handler(vcpu, regs->r);
	return regs;
}
