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
#define SECTION_NG BIT(17)
#define SUPERSECTION BIT(18)
#define SECTION_NS BIT(19)

/* Normal memory, write-back write-allocate, shareable; and shareable device memory. */
#define NORMAL_WBWA (SECTION | SECTION_AP_RW | SECTION_TEX(1) | SECTION_C | SECTION_B | SECTION_S)
#define DEVICE_SHARED (SECTION | SECTION_AP_RW | SECTION_B | SECTION_XN)

/* First-level entries that point to a second-level table of 256 small (4 KiB) pages. */
#define L1_TYPE_MASK 0x3u
#define L1_PAGE_TABLE 0x1u
#define L2_ENTRIES 256
#define L2_TABLE_SIZE (L2_ENTRIES * 4)
#define PAGE_SIZE 4096u
#define SMALL_PAGE_XN BIT(0)
#define SMALL_PAGE BIT(1)
#define SMALL_PAGE_B BIT(2)
#define SMALL_PAGE_AP_RW (3u << 4)
#define SMALL_PAGE_C BIT(3)
#define SMALL_PAGE_AP_USER_RO (2u << 4)
#define SMALL_PAGE_AP_PL1_ONLY (1u << 4)
#define SMALL_PAGE_TEX(x) ((u32)(x) << 6)
#define SMALL_PAGE_APX BIT(9)
#define SMALL_PAGE_S BIT(10)
#define SMALL_PAGE_NG BIT(11)
/* Shareable device memory (TEX=0, C=0, B=1), read/write at PL0 and PL1, never executed. */
#define DEVICE_SMALL_PAGE (SMALL_PAGE | SMALL_PAGE_XN | SMALL_PAGE_B | SMALL_PAGE_AP_RW)
/* The same, writable at PL1 only and read-only at PL0. */
#define DEVICE_SMALL_PAGE_USER_RO (SMALL_PAGE | SMALL_PAGE_XN | SMALL_PAGE_B | SMALL_PAGE_AP_USER_RO)
/* Normal write-back memory, read-only at PL1, no access at PL0: the shim's code. */
#define SHIM_SMALL_PAGE                                                                    \
	(SMALL_PAGE | SMALL_PAGE_B | SMALL_PAGE_C | SMALL_PAGE_TEX(1) | SMALL_PAGE_S |     \
	 SMALL_PAGE_APX | SMALL_PAGE_AP_PL1_ONLY)

/* Inner and outer write-back write-allocate, shareable table walks (as Linux sets for SMP). */
#define TTBR_WALK_ATTRS 0x6au

#define SCTLR_M BIT(0)
#define SCTLR_C BIT(2)
#define SCTLR_Z BIT(11)
#define SCTLR_I BIT(12)
#define SCTLR_V BIT(13)
#define SCTLR_EE BIT(25)
#define SCTLR_TE BIT(30)
#define SCTLR_CACHED_MMU (SCTLR_M | SCTLR_C | SCTLR_I | SCTLR_Z)

#endif
