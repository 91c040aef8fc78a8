/*
 * One hypercall with every other register set to a known value, to see what
 * OVM changed besides r0-r3 (its ABI: results in r0-r3, all else preserved).
 *
 * u32 hostile_call(u32 *regs): r0-r3 from regs[0..3], results stored back there;
 * returns a mask of the registers (bit n: rn, 13: sp, 14: lr) that came back changed.
 */
	.syntax unified
	.arm
	.text

	.macro check reg, bit
	ldr	r1, =0x4a4a0000 + \bit
	cmp	\reg, r1
	orrne	r0, r0, #(1 << \bit)
	.endm

	.global hostile_call
hostile_call:
	push	{r4-r11, lr}
	push	{r0}				@ the regs block, found again after the call
	ldr	r1, =call_sp
	str	sp, [r1]			@ sp as OVM must give it back
	ldr	r4, =0x4a4a0004
	ldr	r5, =0x4a4a0005
	ldr	r6, =0x4a4a0006
	ldr	r7, =0x4a4a0007
	ldr	r8, =0x4a4a0008
	ldr	r9, =0x4a4a0009
	ldr	r10, =0x4a4a000a
	ldr	r11, =0x4a4a000b
	ldr	r12, =0x4a4a000c
	ldr	lr, =0x4a4a000e
	ldm	r0, {r0-r3}			@ index and arguments
	svc	#0
	push	{r0-r3}				@ the results, while r0-r1 build the mask
	mov	r0, #0
	check	r4, 4
	check	r5, 5
	check	r6, 6
	check	r7, 7
	check	r8, 8
	check	r9, 9
	check	r10, 10
	check	r11, 11
	check	r12, 12
	check	lr, 14
	ldr	r1, =call_sp
	ldr	r1, [r1]
	sub	r1, r1, #16			@ less the results just pushed
	cmp	sp, r1
	orrne	r0, r0, #(1 << 13)
	pop	{r1-r3, r12}			@ r1-r3, r12 = results r0-r3
	pop	{r4}				@ r4 = the regs block
	stm	r4, {r1-r3, r12}
	pop	{r4-r11, pc}

/*
 * void hostile_jump(u32 target): branch to an address this VM may not execute; its
 * prefetch abort resumes at the return address (hostile_resume).
 */
	.global hostile_jump
hostile_jump:
	push	{r4, lr}
	ldr	r1, =hostile_resume
	adr	r2, 1f
	str	r2, [r1]
	blx	r0
1:	pop	{r4, pc}

	.bss
	.align	2
call_sp:
	.word	0
