/*
 * Memory separation: the translation table each VM runs with, built by OVM
 * in its non-secure area. The VM's contiguous region is mapped flat (virtual
 * = physical, so guests need no relocation) with 16 MiB supersections where
 * the region is aligned for them and 1 MiB sections elsewhere. OVM's memory
 * and other VMs' regions are simply absent. A supervisor-mode guest also gets
 * the Cortex-A9 private region (GIC, timers) as device memory; it owns its
 * MMU, so the table is only its starting state. A user-mode guest cannot
 * change its table; it gets the private region's first page read-only (the
 * global timer to read the time, its core's timers' counters) and the shim,
 * which runs at PL1 only.
 */
#include <arch/arch.h>
#include <arch/cpu.h>
#include <arch/ns_area.h>
#include <arch/pagetable.h>
#include <arch/periph.h>
#include <arch/shim.h>
#include <core/config.h>
#include <core/console.h>
#include <lib/string.h>

#define DACR_DOMAIN0_CLIENT 0x1u

/*
 * A user-mode VM's ASID: its index, plus one so that none is 0, the ASID a
 * supervisor-mode guest starts with. A switch to or from a supervisor-mode
 * vCPU, which sets ASIDs of its own, flushes the TLB (arch_context_restore).
 */
_Static_assert(OVM_MAX_VMS < 256, "an ASID per VM in CONTEXTIDR's eight bits");
static u32 vm_asid(u32 vm)
{
	return vm + 1;
}

static u32 *ns_area(u32 offset)
{
	return (u32 *)(uintptr_t)(board.ovm_ns_base + offset);
}

static u32 *guest_table(u32 vm)
{
	return ns_area(NS_AREA_L1_TABLES + vm * L1_TABLE_SIZE);
}

/* A VM's second-level tables for its devices: 1 KiB each. */
static u32 *device_table(u32 vm, u32 index)
{
	return ns_area(NS_AREA_DEVICE_TABLES + (vm * OVM_MAX_DEVICE_SECTIONS + index) * L2_TABLE_SIZE);
}

static u32 l2_index(u32 addr)
{
	return (addr >> 12) & (L2_ENTRIES - 1);
}

/* One page in a second-level table of its own, which no other page shares. */
static void map_one_page(u32 *l2, u32 addr, u32 attrs)
{
	memset(l2, 0, L2_TABLE_SIZE);
	l2[l2_index(addr)] = (addr & ~(PAGE_SIZE - 1)) | attrs;
	arch_dcache_clean_range((u32)(uintptr_t)l2, L2_TABLE_SIZE);
}

/* Eight SMCs, one per vector (arch/shim.h). */
#define SMC_0 0xe1600070u

void arch_shim_init(void)
{
	u32 *vectors = ns_area(NS_AREA_SHIM);

	memset(vectors, 0, PAGE_SIZE);
	for (u32 slot = 0; slot < SHIM_SLOTS; slot++)
		vectors[slot] = SMC_0;
	arch_dcache_clean_range((u32)(uintptr_t)vectors, PAGE_SIZE);
	write_iciallu(0);
	dsb();
	isb();
	map_one_page(ns_area(NS_AREA_SHIM_TABLE), shim_vectors_va(), SHIM_SMALL_PAGE);
	map_one_page(ns_area(NS_AREA_PERIPH_TABLE), board.periph_base, DEVICE_SMALL_PAGE_USER_RO);
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
		l2[l2_index(addr)] = addr | DEVICE_SMALL_PAGE | SMALL_PAGE_NG;
		pages++;
	}
	arch_dcache_clean_range((u32)(uintptr_t)l2, L2_TABLE_SIZE);
	return pages;
}

struct guest_mapping arch_guest_map(u32 vm, const struct vm_config *config)
{
	u32 *table = guest_table(vm);
	u32 base = config->mem_base, size = config->mem_size;
	struct guest_mapping mapping = { 0, 0, 0 };

	memset(table, 0, L1_TABLE_SIZE);
	for (u32 addr = base; addr - base < size;) {
		bool super = (addr % SUPERSECTION_SIZE) == 0 && size - (addr - base) >= SUPERSECTION_SIZE;
		if (super) {
			for (u32 i = 0; i < 16; i++)
				table[(addr >> 20) + i] = addr | NORMAL_WBWA | SUPERSECTION | SECTION_NG;
			addr += SUPERSECTION_SIZE;
			mapping.supersections++;
		} else {
			table[addr >> 20] = addr | NORMAL_WBWA | SECTION_NG;
			addr += SECTION_SIZE;
			mapping.sections++;
		}
	}
	u32 periph = board.periph_base >> 20;
	if (config->privilege == PRIVILEGE_KERNEL) {
		table[periph] = (periph << 20) | DEVICE_SHARED;
	} else {
		table[periph] = (u32)(uintptr_t)ns_area(NS_AREA_PERIPH_TABLE) | L1_PAGE_TABLE;
		table[shim_vectors_va() >> 20] =
			(u32)(uintptr_t)ns_area(NS_AREA_SHIM_TABLE) | L1_PAGE_TABLE;
	}
	u32 tables_used = 0;
	for (u32 i = 0; i < config->device_count; i++)
		mapping.device_pages += map_device(vm, table, &config->devices[i], &tables_used);
	arch_dcache_clean_range((u32)(uintptr_t)table, L1_TABLE_SIZE);
	return mapping;
}

void arch_context_use_table(struct arch_context *ctx, u32 vm, bool user)
{
	ctx->ttbr0 = (u32)(uintptr_t)guest_table(vm) | TTBR_WALK_ATTRS;
	ctx->ttbr1 = 0;
	ctx->ttbcr = 0;
	ctx->dacr = DACR_DOMAIN0_CLIENT;
	ctx->contextidr = 0;
	ctx->sctlr |= SCTLR_CACHED_MMU;
	if (user) {
		/* Its entries are non-global, tagged with this ASID: a switch between two
		 * user-mode vCPUs keeps the TLB (arch_user_context_switch). */
		ctx->contextidr = vm_asid(vm);
		/* The shim's vectors at VBAR: low vectors, ARM state, little-endian. */
		ctx->sctlr &= ~(SCTLR_V | SCTLR_TE | SCTLR_EE);
		ctx->vbar = shim_vectors_va();
		ctx->tpidruro = 0;
	}
}

/*
 * What HC_SELF_CHECK compares with boot: OVM's code and read-only data; the shim's
 * page and shared tables; then each VM's first-level table and its device tables.
 */
bool arch_integrity_part(u32 index, u32 *base, u32 *size)
{
	extern char __text_start[], __rodata_end[];

	if (index == 0) {
		*base = (u32)(uintptr_t)__text_start;
		*size = (u32)(__rodata_end - __text_start);
	} else if (index == 1) {
		*base = board.ovm_ns_base + NS_AREA_SHIM;
		*size = NS_AREA_PERIPH_TABLE + L2_TABLE_SIZE - NS_AREA_SHIM;
	} else if (index - 2 < 2 * OVM_MAX_VMS) {
		u32 vm = (index - 2) / 2;
		bool devices = (index - 2) % 2;
		*base = (u32)(uintptr_t)(devices ? device_table(vm, 0) : guest_table(vm));
		*size = devices ? OVM_MAX_DEVICE_SECTIONS * L2_TABLE_SIZE : L1_TABLE_SIZE;
	} else {
		return false;
	}
	return true;
}
