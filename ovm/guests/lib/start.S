/*
 * Guest entry, in non-secure SVC with the MMU off, at the VM's load address.
 * OVM passes r0 = this vCPU's number in the VM, r1 = the VM's vCPU count.
 */
	.syntax unified
	.arm

	.section .text.start, "ax"
	.global _start
_start:
	ldr	sp, =__stacks_end		@ sp = top of vCPU 0's stack ...
	sub	sp, sp, r0, lsl #12		@ ... minus 4 KiB per vCPU before us
	ldr	r2, =__bss_start		@ r2 = cursor, r3 = end, r4 = zero
	ldr	r3, =__bss_end
	mov	r4, #0
	cmp	r0, #0				@ vCPU 0 clears .bss, the others wait for it
	bne	2f
1:	cmp	r2, r3
	strlo	r4, [r2], #4
	blo	1b
	ldr	r2, =bss_ready
	mov	r3, #1
	str	r3, [r2]
	b	3f
2:	ldr	r2, =bss_ready
	ldr	r3, [r2]
	cmp	r3, #1
	bne	2b
3:	bl	guest_main
4:	wfi
	b	4b

	.section .data
bss_ready:
	.word	0
