#ifndef ARCH_MMU_H
#define ARCH_MMU_H

#include <arch/cache.h>

/* Undo a loader's MMU and caches (U-Boot's `go` leaves them on) and start clean. */
void mmu_disable_loader_state(void);
void mmu_build_table(void);
void mmu_enable(void);

#endif
