/*
 * ARMv7 short-descriptor first-level entries, as both OVM's own table
 * (mmu.c) and the tables it builds for guests (guest_mmu.c) use them: flat
 * maps of 1 MiB sections and 16 MiB supersections.
 */
#ifndef ARCH_PAGETABLE_H
#define ARCH_PAGETABLE_H

#include <lib/types.h>

#define L1_ENTRIES 4096
#define SECTION_SIZE (1u << 20)
#define SUPERSECTION_SIZE (16u * SECTION_SIZE)

#define SECTION BIT(1)
#define SECTION_B BIT(2)
#define SECTION_C BIT(3)
#define SECTION_XN BIT(4)
#define SECTION_AP_RW (3u << 10)
#define SECTION_TEX(x) ((u32)(x) << 12)
#define SECTION_S BIT(16)
#define SUPERSECTION BIT(18)
#define SECTION_NS BIT(19)

/* Normal memory, write-back write-allocate, shareable; and shareable device memory. */
#define NORMAL_WBWA (SECTION | SECTION_AP_RW | SECTION_TEX(1) | SECTION_C | SECTION_B | SECTION_S)
#define DEVICE_SHARED (SECTION | SECTION_AP_RW | SECTION_B | SECTION_XN)

/* Inner and outer write-back write-allocate, shareable table walks (as Linux sets for SMP). */
#define TTBR_WALK_ATTRS 0x6au

#define SCTLR_M BIT(0)
#define SCTLR_C BIT(2)
#define SCTLR_Z BIT(11)
#define SCTLR_I BIT(12)
#define SCTLR_CACHED_MMU (SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_Z)

#endif
