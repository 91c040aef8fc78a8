/* Sizes shared by the linker script, the assembly and C. */
#ifndef ARCH_LAYOUT_H
#define ARCH_LAYOUT_H

/* Each core's monitor stack: OVM runs in monitor mode only, on this stack. */
#define MON_STACK_SHIFT 13
#define MON_STACK_SIZE (1 << MON_STACK_SHIFT)

/*
 * SCR while a guest runs: non-secure; FIQs (group 0) to the monitor; IRQs stay
 * with the guest; the guest may mask asynchronous aborts but never FIQs
 * (SCR.FW=0). OVM's C code runs with the same, NS clear.
 */
#define SCR_GUEST 0x25
#define SCR_OVM 0x24

/* Written by the boot core once shared state is ready; secondaries wait for it. */
#define SECONDARY_RELEASE_MAGIC 0x0c0ffee0

#endif
