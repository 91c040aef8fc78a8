#include <arch/arch.h>
#include <arch/cpu.h>
#include <arch/gic.h>
#include <arch/layout.h>
#include <arch/mmu.h>
#include <arch/periph.h>
#include <arch/shim.h>
#include <core/config.h>

/*
 * Non-secure access to ACTLR.SMP, and to VFP/NEON (CP10, CP11) only while a
 * vCPU of a VM that declares it holds the core: any other guest that tries gets
 * an undefined instruction, not another guest's registers.
 */
#define NSACR_GUEST BIT(18)
#define NSACR_CP10_CP11 (BIT(10) | BIT(11))
#define CPACR_CP10_CP11_FULL (0xfu << 20)
#define FPEXC_EN BIT(30)

extern volatile u32 secondary_release_flag;
extern char _start[];

void arch_platform_init(void)
{
	mmu_disable_loader_state();
	mmu_build_table();
	arch_core_timers_grant(0);
	gic_dist_init(board.gic_lines);
}

void arch_cpu_init(u32 core)
{
	if (core != 0)
		mmu_disable_loader_state();
	mmu_enable();
	write_nsacr(NSACR_GUEST);
	gic_cpu_init();
}

void arch_release_secondaries(void)
{
	secondary_release_flag = SECONDARY_RELEASE_MAGIC;
	/* The secondaries read it with their caches still off. */
	arch_dcache_clean_range((u32)(uintptr_t)&secondary_release_flag, 4);
	if (board.secondary_release_addr) {
		mmio_write32(board.secondary_release_addr, (u32)(uintptr_t)_start);
		dsb();
	}
	sev();
}

void arch_regs_init(struct arch_regs *regs, u32 entry, const u32 args[4], bool user)
{
	for (u32 i = 0; i < ARRAY_SIZE(regs->r); i++)
		regs->r[i] = i < 4 ? args[i] : 0;
	regs->pc = entry;
	regs->cpsr = user ? USER_UPCALL_CPSR : PSR_MODE_SVC | PSR_I | PSR_A;
}

void arch_fpu_init(struct arch_fpu *fpu, bool user)
{
	*fpu = (struct arch_fpu){ 0 };
	if (user) {
		fpu->cpacr = CPACR_CP10_CP11_FULL;
		fpu->fpexc = FPEXC_EN;
	}
}

void arch_fpu_grant(bool granted)
{
	write_nsacr(granted ? NSACR_GUEST | NSACR_CP10_CP11 : NSACR_GUEST);
	isb();
}
