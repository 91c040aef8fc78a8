/*
 * Early boot, every core: entered in secure SVC with the MMU in whatever state
 * the loader left it (QEMU: off; U-Boot's `go`: possibly on). Sets up the
 * monitor stack and vector bases, then continues in C in monitor mode, which
 * is the only mode OVM runs in: the banked SP/LR of SVC, IRQ, ABT and UND are
 * shared with the non-secure world, only the monitor's are OVM's own.
 */
#include <arch/layout.h>
#include <config_defs.h>

	.syntax unified
	.arm

	.section .text.boot, "ax"
	.global _start
_start:
	cpsid	aif
	mrc	p15, 0, r4, c0, c0, 5		@ r4 = MPIDR
	and	r4, r4, #0xff			@ r4 = this core's number (Aff0), kept for C
	cmp	r4, #OVM_CORES
	bhs	park				@ a core the board file does not count

	cps	#0x16				@ into monitor mode (allowed from secure SVC)
	ldr	sp, =__mon_stacks_end		@ sp = top of core 0's stack ...
	sub	sp, sp, r4, lsl #MON_STACK_SHIFT	@ ... minus one stack per core before us

	ldr	r0, =monitor_vectors		@ r0 = monitor vector base (SMC, FIQ)
	mcr	p15, 0, r0, c12, c0, 1		@ MVBAR
	ldr	r0, =secure_vectors		@ r0 = vectors for faults in OVM itself
	mcr	p15, 0, r0, c12, c0, 0		@ secure VBAR
	isb

	cmp	r4, #0
	bne	wait_for_release

	ldr	r0, =__bss_start		@ r0 = cursor, r1 = end, r2 = zero
	ldr	r1, =__bss_end
	mov	r2, #0
1:	cmp	r0, r1
	strlo	r2, [r0], #4
	blo	1b

	mov	r0, r4				@ r0 = core number
	bl	ovm_boot_primary
	b	park

wait_for_release:
	ldr	r1, =secondary_release_flag	@ r1 = flag the boot core sets, r2 = its value
	ldr	r3, =SECONDARY_RELEASE_MAGIC	@ r3 = the value that means "go"
1:	wfe
	ldr	r2, [r1]
	cmp	r2, r3
	bne	1b
	mov	r0, r4				@ r0 = core number
	bl	ovm_boot_secondary

park:
	wfi
	b	park

	.section .data
	.balign 32				@ own cache line: cleaned to memory for cores with caches off
	.global secondary_release_flag
secondary_release_flag:
	.word	0
	.balign 32
