/*
 * OVM's own (secure) translation table: a flat map of 1 MiB sections. RAM is
 * normal write-back memory, so that the spinlocks' exclusives are defined and
 * OVM runs cached on silicon; guests' RAM is mapped non-secure so OVM and the
 * guests see the same cache lines; everything else is device memory. RAM the
 * board's TrustZone partition keeps secure beyond OVM's region is mapped
 * secure as well: a non-secure access of OVM's own there would be refused.
 */
#include <arch/cpu.h>
#include <arch/mmu.h>
#include <arch/pagetable.h>
#include <core/config.h>
#include <drivers/trustzone.h>

#define ACTLR_FW BIT(0)
#define ACTLR_SMP BIT(6)

static u32 translation_table[L1_ENTRIES] __attribute__((aligned(16384)));

static bool in_region(u32 mb, u32 base, u32 size)
{
	return mb >= (base >> 20) && mb < ((base >> 20) + (size >> 20));
}

void mmu_build_table(void)
{
	for (u32 mb = 0; mb < L1_ENTRIES; mb++) {
		u32 desc = DEVICE_SHARED;
		if (in_region(mb, board.ovm_base, board.ovm_size))
			desc = NORMAL_WBWA;
		else if (in_region(mb, board.ram_base, board.ram_size) &&
			 trustzone_is_secure(mb << 20))
			desc = NORMAL_WBWA;
		else if (in_region(mb, board.ram_base, board.ram_size))
			desc = NORMAL_WBWA | SECTION_NS;
		translation_table[mb] = (mb << 20) | desc;
	}
	dsb();
}

void mmu_enable(void)
{
	write_actlr(read_actlr() | ACTLR_SMP | ACTLR_FW);
	write_ttbcr(0);
	write_ttbr0((u32)(uintptr_t)translation_table | TTBR_WALK_ATTRS);
	write_dacr(0x55555555u);
	write_tlbiall(0);
	dsb();
	isb();
	write_sctlr(read_sctlr() | SCTLR_CACHED_MMU);
	isb();
}

void mmu_disable_loader_state(void)
{
	u32 sctlr = read_sctlr();

	if (sctlr & (SCTLR_M | SCTLR_C)) {
		cache_l1_clean_invalidate_all();
		write_sctlr(sctlr & ~(SCTLR_M | SCTLR_C | SCTLR_I));
		isb();
	}
	cache_l1_invalidate_all();
	write_tlbiall(0);
	dsb();
	isb();
}
