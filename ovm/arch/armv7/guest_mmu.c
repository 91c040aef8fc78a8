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
#include <core/console.h>
#include <lib/string.h>

#define L1_TABLE_SIZE (L1_ENTRIES * 4)
#define DACR_DOMAIN0_CLIENT 0x1u

u32 *arch_guest_table(u32 vm)
{
	return (u32 *)(uintptr_t)(board.ovm_ns_base + vm * L1_TABLE_SIZE);
}

/* A VM's second-level tables, after every VM's first-level one: 1 KiB each. */
static u32 *device_table(u32 vm, u32 index)
{
	return (u32 *)(uintptr_t)(board.ovm_ns_base + OVM_MAX_VMS * L1_TABLE_SIZE +
				  (vm * OVM_MAX_DEVICE_SECTIONS + index) * L2_TABLE_SIZE);
}

/*
 * A passed-through device, page by page, through a second-level table for its
 * section: the VM reaches those pages and nothing else of the section (the
 * console and the other devices next to it stay unmapped). Returns the pages
 * mapped; 0 if the section is taken by a section mapping or tables ran out
 * (the tooling refuses both).
 */
static u32 map_device(u32 vm, u32 *l1, const struct device_map *device, u32 *tables_used)
{
	u32 section = device->base >> 20;
	u32 *l2;

	if ((l1[section] & L1_TYPE_MASK) == L1_PAGE_TABLE) {
		l2 = (u32 *)(uintptr_t)(l1[section] & ~(L2_TABLE_SIZE - 1));
	} else if (l1[section] == 0 && *tables_used < OVM_MAX_DEVICE_SECTIONS) {
		l2 = device_table(vm, (*tables_used)++);
		memset(l2, 0, L2_TABLE_SIZE);
		l1[section] = (u32)(uintptr_t)l2 | L1_PAGE_TABLE;
	} else {
		console_printf("[ovm] vm%u: device %p not mapped (its section is taken)\n", vm,
			       (void *)(uintptr_t)device->base);
		return 0;
	}
	u32 pages = 0;
	for (u32 addr = device->base; addr - device->base < device->size; addr += PAGE_SIZE) {
		l2[(addr >> 12) & (L2_ENTRIES - 1)] = addr | DEVICE_SMALL_PAGE;
		pages++;
	}
	arch_dcache_clean_range((u32)(uintptr_t)l2, L2_TABLE_SIZE);
	return pages;
}

struct guest_mapping arch_guest_map(u32 vm, const struct vm_config *config)
{
	u32 *table = arch_guest_table(vm);
	u32 base = config->mem_base, size = config->mem_size;
	struct guest_mapping mapping = { 0, 0, 0 };

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
	u32 tables_used = 0;
	for (u32 i = 0; i < config->device_count; i++)
		mapping.device_pages += map_device(vm, table, &config->devices[i], &tables_used);
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
