/*
 * Guest entry at the VM's load address (OVM has mapped the VM's memory flat,
 * so addresses are physical ones). OVM passes r0 = this vCPU's number in the
 * VM, r1 = the VM's vCPU count, r2 and r3 = the VM's arguments from the
 * scenario file; guest_main gets them all. A VM runs in non-secure user mode
 * (the default: OVM upcalls its interrupts and faults) or, an HRT VM trusted
 * with it, in non-secure SVC (its own vectors take them).
 */
#include "upcall.h"

	.syntax unified
	.arm

	.section .text.start, "ax"
	.global _start
_start:
	ldr	sp, =__stacks_end		@ sp = top of vCPU 0's stack ...
	sub	sp, sp, r0, lsl #12		@ ... minus 4 KiB per vCPU before us
	mrs	r4, cpsr			@ r4 = the mode OVM started us in
	and	r4, r4, #0x1f
	cmp	r4, #0x10
	beq	1f
	cps	#0x12				@ SVC guest. IRQ mode: its own stack, 1 KiB per vCPU
	ldr	sp, =__irq_stacks_end
	sub	sp, sp, r0, lsl #10
	cps	#0x17				@ ABT mode: 256 bytes per vCPU
	ldr	sp, =__abt_stacks_end
	sub	sp, sp, r0, lsl #8
	cps	#0x13
	ldr	r4, =guest_vectors		@ r4 = this guest's vector table
	mcr	p15, 0, r4, c12, c0, 0		@ VBAR
	isb
	b	2f
1:	ldr	r4, =guest_in_user_mode		@ user-mode guest: hypercalls by SVC from now on
	mov	r5, #1
	str	r5, [r4]
2:	ldr	r4, =__bss_start		@ r4 = cursor, r5 = end, r6 = zero
	ldr	r5, =__bss_end
	mov	r6, #0
	cmp	r0, #0				@ vCPU 0 clears .bss, the others wait for it
	bne	4f
3:	cmp	r4, r5
	strlo	r6, [r4], #4
	blo	3b
	ldr	r4, =bss_ready
	mov	r5, #1
	str	r5, [r4]
	b	5f
4:	ldr	r4, =bss_ready
	ldr	r5, [r4]
	cmp	r5, #1
	bne	4b
5:	ldr	r4, =guest_in_user_mode
	ldr	r4, [r4]
	cmp	r4, #0
	beq	6f
	push	{r0-r3}				@ the entry arguments, for guest_main
	ldr	r1, =guest_vcpu_areas		@ r1 = this vCPU's area ...
	mov	r4, #AREA_SIZE
	mla	r1, r0, r4, r1			@ ... the r0-th
	mov	r4, #1
	str	r4, [r1, #AREA_MASKED]		@ interrupts masked until guest_main unmasks them
	ldr	r2, =upcall_irq_entry		@ r2, r3 = the upcall entries (vectors.S)
	ldr	r3, =upcall_fault_entry
	mov	r0, #HC_UPCALL_SETUP_NR
	svc	#0
	pop	{r0-r3}
6:	bl	guest_main
7:	wfi
	b	7b

	.section .data
bss_ready:
	.word	0
	/* Not in .bss: set before .bss is cleared. */
	.global guest_in_user_mode
guest_in_user_mode:
	.word	0
