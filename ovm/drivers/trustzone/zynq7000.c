/*
 * Zynq-7000 TrustZone partition (Zynq-7000 TRM, UG585: slcr and
 * nic301_addr_region_ctrl_registers). The SLCR is a secure-only slave, so
 * once this has run no non-secure master can change the partition; OVM
 * locks the SLCR again anyway, so that a stray write of its own cannot.
 */
#include <arch/cpu.h>
#include <core/config.h>
#include <core/console.h>
#include <drivers/trustzone.h>

#define SLCR_LOCK 0xF8000004u
#define SLCR_UNLOCK 0xF8000008u
#define SLCR_LOCK_KEY 0x767Bu
#define SLCR_UNLOCK_KEY 0xDF0Du
/* One bit per 64 MiB of DDR from address 0: 0 secure, 1 non-secure. */
#define SLCR_TZ_DDR_RAM 0xF8000430u

void trustzone_init(void)
{
	const struct trustzone_config *tz = &trustzone_config;
	u32 non_secure = ~tz->secure_ddr_mask;

	mmio_write32(SLCR_UNLOCK, SLCR_UNLOCK_KEY);
	mmio_write32(SLCR_TZ_DDR_RAM, non_secure);
	for (u32 i = 0; i < tz->control_count; i++)
		mmio_write32(tz->controls[i].addr, tz->controls[i].value);
	mmio_write32(SLCR_LOCK, SLCR_LOCK_KEY);
	/* The partition must hold before the first guest's first instruction. */
	dsb();
	console_printf("[ovm] TrustZone: TZ_DDR_RAM=0x%08x (secure granules 0x%08x of %u MiB), "
		       "%u controls, SLCR locked\n",
		       non_secure, tz->secure_ddr_mask, (1u << tz->ddr_granule_shift) >> 20,
		       tz->control_count);
}

bool trustzone_is_secure(u32 addr)
{
	const struct trustzone_config *tz = &trustzone_config;
	u32 granule = addr >> tz->ddr_granule_shift;

	return granule < 32 && (tz->secure_ddr_mask >> granule) & 1u;
}
