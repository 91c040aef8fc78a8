#include <arch/arch.h>
#include <arch/cpu.h>
#include <arch/cache.h>

#define CACHE_LINE 32

CP15_READ(clidr, 1, c0, c0, 1)
CP15_READ(ccsidr, 1, c0, c0, 0)
CP15_WRITE(csselr, 2, c0, c0, 0)
CP15_WRITE(dcisw, 0, c7, c6, 2)
CP15_WRITE(dccisw, 0, c7, c14, 2)
CP15_WRITE(dccmvac, 0, c7, c10, 1)

/* Walk every set and way of the level-1 data cache (the A9's only inner level). */
static void l1_dcache_by_set_way(void (*op)(u32))
{
	write_csselr(0);
	isb();
	u32 ccsidr = read_ccsidr();
	u32 line_shift = (ccsidr & 7u) + 4;
	u32 ways = ((ccsidr >> 3) & 0x3ffu) + 1;
	u32 sets = ((ccsidr >> 13) & 0x7fffu) + 1;
	u32 way_shift = (u32)__builtin_clz(ways - 1);

	for (u32 way = 0; way < ways; way++)
		for (u32 set = 0; set < sets; set++)
			op((way << way_shift) | (set << line_shift));
	dsb();
}

void cache_l1_invalidate_all(void)
{
	if (read_clidr() & 7u)
		l1_dcache_by_set_way(write_dcisw);
	write_iciallu(0);
	write_bpiall(0);
	dsb();
	isb();
}

void cache_l1_clean_invalidate_all(void)
{
	if (read_clidr() & 7u)
		l1_dcache_by_set_way(write_dccisw);
}

void arch_dcache_clean_range(u32 addr, u32 size)
{
	for (u32 line = addr & ~(CACHE_LINE - 1u); line < addr + size; line += CACHE_LINE)
		write_dccmvac(line);
	dsb();
}
