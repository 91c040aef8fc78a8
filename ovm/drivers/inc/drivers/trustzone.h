/*
 * The board's memory-side TrustZone partition. Each driver in
 * drivers/trustzone/ implements this; the board file's trustzone.controller
 * names one (none without a `trustzone:` block) and only that one is linked.
 */
#ifndef DRIVERS_TRUSTZONE_H
#define DRIVERS_TRUSTZONE_H

#include <lib/types.h>

/*
 * Core 0, once, after the console is up and before any guest memory is
 * touched or any guest runs: from here on OVM's secure granules refuse every
 * non-secure access, a guest's at PL1 and a non-secure DMA master's alike.
 */
void trustzone_init(void);

/* Whether the partition keeps the physical address secure (OVM maps it secure too). */
bool trustzone_is_secure(u32 addr);

#endif
