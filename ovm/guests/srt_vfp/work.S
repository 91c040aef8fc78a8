/*
 * void job_work(u64 ticks): the job's work, for `ticks` of the global timer, done
 * with VFP/NEON. At the first job every double register gets a value of its own
 * (a table plus this VM's load address in MiB, so two VMs running this guest
 * hold different values) and FPSCR a rounding mode no one else uses (towards
 * zero); they keep them across jobs, so every switch away and back lies inside
 * the check. Until the time is up, each pass adds and subtracts, in every
 * register, amounts whose results are exact in binary64 and in 32-bit lanes, so
 * each pass leaves the registers as they were, and compares all of them with
 * the expected values. A register that differs was changed by someone else (a
 * switch that did not keep this vCPU's state); it is counted and reloaded. The
 * guest's C is soft-float: nothing else in it touches these registers.
 */
	.syntax unified
	.arm
	.fpu	neon

#define FPSCR_ROUND_TO_ZERO (3 << 22)

	.section .rodata
	.balign 8
pattern:
	.double 1.0, 3.0, 5.0, 7.0, 11.0, 13.0, 17.0, 19.0
	.double 23.0, 29.0, 31.0, 37.0, 41.0, 43.0, 47.0, 53.0
	.double 59.0, 61.0, 67.0, 71.0, 73.0, 79.0, 83.0, 89.0
	.double 97.0, 101.0, 103.0, 107.0, 109.0, 113.0, 127.0, 131.0

	.bss
	.balign 8
	.global vfp_checks, vfp_errors
loaded:
	.word 0
expected:
	.space 32 * 8
vfp_checks:
	.word 0
vfp_errors:
	.word 0
seen:
	.space 32 * 8

	.text
	.global job_work
job_work:
	push	{r4-r9, lr}
	sub	sp, sp, #4			@ 8-byte stack alignment for the calls
	mov	r4, r0				@ r4:r5 = how long, in ticks
	mov	r5, r1
	bl	now_ticks
	mov	r6, r0				@ r6:r7 = when the job started
	mov	r7, r1
	ldr	r0, =loaded
	ldr	r1, [r0]
	cmp	r1, #0
	bleq	first_load
1:
	vadd.f64	d0, d0, d1		@ exact: small integers
	vsub.f64	d0, d0, d1
	vmul.f64	d2, d2, d3
	vdiv.f64	d2, d2, d3
	vadd.i32	q4, q4, q5		@ NEON lanes
	vsub.i32	q4, q4, q5
	vadd.f64	d16, d16, d31
	vsub.f64	d16, d16, d31
	vmul.f64	d20, d20, d21
	vdiv.f64	d20, d20, d21
	vadd.i32	q12, q12, q13
	vsub.i32	q12, q12, q13
	bl	check
	bl	now_ticks
	subs	r0, r0, r6			@ r0:r1 = ticks since the start
	sbc	r1, r1, r7
	cmp	r1, r5
	cmpeq	r0, r4
	blo	1b
	add	sp, sp, #4
	pop	{r4-r9, pc}

/* The expected values (the table plus this VM's MiB), then load them. */
first_load:
	ldr	r0, =loaded
	mov	r1, #1
	str	r1, [r0]
	ldr	r0, =pattern
	lsr	r1, r0, #20			@ r1 = this image's address in MiB
	vmov	s0, r1
	vcvt.f64.u32	d16, s0			@ d16 = that, exactly, as a double
	ldr	r1, =expected
	mov	r2, #32
3:
	vldmia	r0!, {d17}
	vadd.f64	d17, d17, d16
	vstmia	r1!, {d17}
	subs	r2, r2, #1
	bne	3b
	/* fall through */

/* Every register from the expected values, FPSCR's rounding mode. */
load:
	ldr	r0, =expected
	vldmia	r0!, {d0-d15}
	vldmia	r0, {d16-d31}
	vmrs	r0, fpscr
	orr	r0, r0, #FPSCR_ROUND_TO_ZERO
	vmsr	fpscr, r0
	bx	lr

/* Compare every register and FPSCR's mode with what load put there; count and reload. */
check:
	ldr	r0, =seen
	vstmia	r0!, {d0-d15}
	vstmia	r0, {d16-d31}
	ldr	r0, =seen
	ldr	r1, =expected
	mov	r2, #64				@ r2 = words left
	mov	r3, #0				@ r3 = words that differ
2:
	ldr	r8, [r0], #4
	ldr	r9, [r1], #4
	cmp	r8, r9
	addne	r3, r3, #1
	subs	r2, r2, #1
	bne	2b
	vmrs	r0, fpscr
	and	r0, r0, #FPSCR_ROUND_TO_ZERO
	cmp	r0, #FPSCR_ROUND_TO_ZERO
	addne	r3, r3, #1
	ldr	r0, =vfp_checks
	ldr	r1, [r0]
	add	r1, r1, #1
	str	r1, [r0]
	cmp	r3, #0
	bxeq	lr
	ldr	r0, =vfp_errors
	ldr	r1, [r0]
	add	r1, r1, r3
	str	r1, [r0]
	b	load
