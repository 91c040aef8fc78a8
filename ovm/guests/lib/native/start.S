/*
 * Entry of a guest program run natively: no OVM, straight from reset (or
 * from U-Boot's `go`) in secure SVC at the image's load address, MMU off.
 * Core 0 runs the program; any other core that arrives here sleeps. The
 * program's two arguments are fixed at build time (NATIVE_ARG0/1), as a
 * scenario file fixes them for a VM.
 */
	.syntax unified
	.arm

	.section .text.start, "ax"
	.global _start
_start:
	cpsid	if
	mrc	p15, 0, r4, c0, c0, 5		@ r4 = MPIDR: only core 0 goes on
	ands	r4, r4, #0xff
	bne	park
	ldr	sp, =__stacks_end		@ SVC stack
	cps	#0x12				@ IRQ mode: its own stack
	ldr	sp, =__irq_stacks_end
	cps	#0x17				@ ABT mode
	ldr	sp, =__abt_stacks_end
	cps	#0x13
	ldr	r4, =guest_vectors		@ r4 = vector table, for the secure VBAR
	mcr	p15, 0, r4, c12, c0, 0
	isb
	ldr	r4, =__bss_start		@ r4 = cursor, r5 = end, r6 = zero
	ldr	r5, =__bss_end
	mov	r6, #0
1:	cmp	r4, r5
	strlo	r6, [r4], #4
	blo	1b
	mov	r0, #0				@ r0 = vCPU 0, r1 = of 1
	mov	r1, #1
	ldr	r2, =NATIVE_ARG0		@ r2, r3 = the program's arguments
	ldr	r3, =NATIVE_ARG1
	bl	guest_main
2:	wfi
	b	2b

park:
	wfi
	b	park

	.section .data
	/* A native program runs in the secure world's SVC: it is never in user mode. */
	.global guest_in_user_mode
guest_in_user_mode:
	.word	0
