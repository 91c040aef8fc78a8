/*
 * Guest entry, in non-secure SVC, at the VM's load address (OVM has mapped
 * the VM's memory flat, so addresses are physical ones). OVM passes
 * r0 = this vCPU's number in the VM, r1 = the VM's vCPU count, r2 and r3 =
 * the VM's arguments from the scenario file; guest_main gets them all.
 */
	.syntax unified
	.arm

	.section .text.start, "ax"
	.global _start
_start:
	ldr	sp, =__stacks_end		@ sp = top of vCPU 0's SVC stack ...
	sub	sp, sp, r0, lsl #12		@ ... minus 4 KiB per vCPU before us
	cps	#0x12				@ IRQ mode: its own stack, 1 KiB per vCPU
	ldr	sp, =__irq_stacks_end
	sub	sp, sp, r0, lsl #10
	cps	#0x17				@ ABT mode: 256 bytes per vCPU
	ldr	sp, =__abt_stacks_end
	sub	sp, sp, r0, lsl #8
	cps	#0x13
	ldr	r4, =guest_vectors		@ r4 = this guest's vector table
	mcr	p15, 0, r4, c12, c0, 0		@ VBAR
	isb
	ldr	r4, =__bss_start		@ r4 = cursor, r5 = end, r6 = zero
	ldr	r5, =__bss_end
	mov	r6, #0
	cmp	r0, #0				@ vCPU 0 clears .bss, the others wait for it
	bne	2f
1:	cmp	r4, r5
	strlo	r6, [r4], #4
	blo	1b
	ldr	r4, =bss_ready
	mov	r5, #1
	str	r5, [r4]
	b	3f
2:	ldr	r4, =bss_ready
	ldr	r5, [r4]
	cmp	r5, #1
	bne	2b
3:	bl	guest_main
4:	wfi
	b	4b

	.section .data
bss_ready:
	.word	0
