/*
 * The shim: the non-secure vectors of user-mode guests, OVM's code at non-secure
 * PL1. Each of its eight vectors is one SMC, so every exception a user-mode guest
 * takes (a supervisor call, an undefined instruction, an abort) arrives in the
 * monitor with the guest's registers untouched; the vector it came through, and
 * so the exception, is the return address of that SMC. The page is mapped into
 * every user-mode VM at its physical address, readable and executable at PL1
 * only; no guest can write it or run it as its own.
 */
#ifndef ARCH_SHIM_H
#define ARCH_SHIM_H

#include <arch/ns_area.h>
#include <core/config.h>
#include <lib/types.h>

enum shim_slot {
	SHIM_SLOT_RESET,
	SHIM_SLOT_UNDEFINED,
	SHIM_SLOT_SVC,
	SHIM_SLOT_PREFETCH_ABORT,
	SHIM_SLOT_DATA_ABORT,
	SHIM_SLOT_UNUSED,
	SHIM_SLOT_IRQ,
	SHIM_SLOT_FIQ,
	SHIM_SLOTS
};

/* User-mode guests keep IRQs masked in the CPSR (the shim never takes one: their
 * interrupts are upcalls) and cannot unmask them; asynchronous aborts likewise. */
#define USER_UPCALL_CPSR 0x190u

static inline u32 shim_vectors_va(void)
{
	return board.ovm_ns_base + NS_AREA_SHIM;
}

#endif
