/* Sizes shared by the linker script, the assembly and C. */
#ifndef ARCH_LAYOUT_H
#define ARCH_LAYOUT_H

/* Each core's monitor stack: OVM runs in monitor mode only, on this stack. */
#define MON_STACK_SHIFT 13
#define MON_STACK_SIZE (1 << MON_STACK_SHIFT)

/* Written by the boot core once shared state is ready; secondaries wait for it. */
#define SECONDARY_RELEASE_MAGIC 0x0c0ffee0

#endif
