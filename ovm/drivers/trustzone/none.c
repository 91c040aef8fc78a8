/*
 * No memory-side TrustZone partition: the QEMU vexpress-a9 board. QEMU models
 * no TrustZone address-space controller (TZASC) on that machine, so a
 * non-secure access reaches OVM's memory whatever OVM's own table says: there,
 * OVM's memory is kept from guests only by the translation tables OVM owns
 * (see docs/threat-model.md).
 */
#include <drivers/trustzone.h>

void trustzone_init(void)
{
}

bool trustzone_is_secure(u32 addr)
{
	(void)addr;
	return false;
}
