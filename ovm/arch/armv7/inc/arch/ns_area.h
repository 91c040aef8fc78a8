/*
 * OVM's non-secure area (board.ovm_ns_base, 1 MiB right after OVM's region, past
 * any secure DDR granule): what the non-secure side must reach, because table
 * walks and the shim's instructions are non-secure accesses, but no guest maps
 * writable.
 */
#ifndef ARCH_NS_AREA_H
#define ARCH_NS_AREA_H

#include <arch/pagetable.h>
#include <core/config.h>

/* Every VM's first-level table. */
#define NS_AREA_L1_TABLES 0x00000u
#define L1_TABLE_SIZE (L1_ENTRIES * 4)
/* Every VM's second-level tables for passed-through devices. */
#define NS_AREA_DEVICE_TABLES (NS_AREA_L1_TABLES + OVM_MAX_VMS * L1_TABLE_SIZE)
/* The shim's page (arch/shim.h). */
#define NS_AREA_SHIM 0xf0000u
/* Second-level tables shared by every user-mode VM: the one mapping the shim's page in
 * this area's section, the one mapping the private region's first page read-only. */
#define NS_AREA_SHIM_TABLE 0xf1000u
#define NS_AREA_PERIPH_TABLE 0xf1400u

_Static_assert(NS_AREA_DEVICE_TABLES + OVM_MAX_VMS * OVM_MAX_DEVICE_SECTIONS * L2_TABLE_SIZE <=
		       NS_AREA_SHIM,
	       "the VMs' tables stay below the shim");

#endif
