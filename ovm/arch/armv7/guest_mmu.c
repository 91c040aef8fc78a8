/*
 * Memory separation: the translation table each VM runs with, built by OVM
 * in its non-secure area. The VM's contiguous region is mapped flat (virtual
 * = physical, so guests need no relocation) with 16 MiB supersections where
 * the region is aligned for them and 1 MiB sections elsewhere; the
 * Cortex-A9 private region (GIC, timers) is mapped as device memory. OVM's
 * memory and other VMs' regions are simply absent.
 */
#include <arch/arch.h>
#include <arch/cpu.h>
#include <arch/pagetable.h>
#include <arch/periph.h>
#include <core/config.h>
#include <lib/string.h>

#define L1_TABLE_SIZE (L1_ENTRIES * 4)
#define DACR_DOMAIN0_CLIENT 0x1u

u32 *arch_guest_table(u32 vm)
{
	return (u32 *)(uintptr_t)(board.ovm_ns_base + vm * L1_TABLE_SIZE);
}

struct guest_mapping arch_guest_map(u32 vm, u32 base, u32 size)
{
	u32 *table = arch_guest_table(vm);
	struct guest_mapping mapping = { 0, 0 };

	memset(table, 0, L1_TABLE_SIZE);
	for (u32 addr = base; addr - base < size;) {
		bool super = (addr % SUPERSECTION_SIZE) == 0 && size - (addr - base) >= SUPERSECTION_SIZE;
		if (super) {
			for (u32 i = 0; i < 16; i++)
				table[(addr >> 20) + i] = addr | NORMAL_WBWA | SUPERSECTION;
			addr += SUPERSECTION_SIZE;
			mapping.supersections++;
		} else {
			table[addr >> 20] = addr | NORMAL_WBWA;
			addr += SECTION_SIZE;
			mapping.sections++;
		}
	}
	u32 periph = board.periph_base & ~(SECTION_SIZE - 1);
	table[periph >> 20] = periph | DEVICE_SHARED;
	arch_dcache_clean_range((u32)(uintptr_t)table, L1_TABLE_SIZE);
	return mapping;
}

void arch_context_use_table(struct arch_context *ctx, u32 vm)
{
	ctx->ttbr0 = (u32)(uintptr_t)arch_guest_table(vm) | TTBR_WALK_ATTRS;
	ctx->ttbr1 = 0;
	ctx->ttbcr = 0;
	ctx->dacr = DACR_DOMAIN0_CLIENT;
	ctx->contextidr = 0;
	ctx->sctlr |= SCTLR_CACHED_MMU;
}
