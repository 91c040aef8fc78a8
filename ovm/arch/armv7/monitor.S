/*
 * Monitor vectors and the world switch. While a guest runs, the monitor's SP
 * points just past the current vCPU's struct arch_regs; an exception into
 * monitor mode pushes the guest's registers straight into that frame, then
 * switches to the core's monitor stack for C. C returns the frame to resume
 * (the same vCPU or another one), which is popped and returned to with RFE.
 */
#include <arch/layout.h>

	.syntax unified
	.arm

	.section .text.monitor, "ax"
	.balign 32
	.global monitor_vectors
monitor_vectors:
	b	mon_unexpected			@ 0x00 unused in the monitor table
	b	mon_unexpected			@ 0x04 unused in the monitor table
	b	mon_smc				@ 0x08 SMC: a hypercall
	b	mon_unexpected			@ 0x0c prefetch abort: SCR.EA=0 keeps these away
	b	mon_unexpected			@ 0x10 data abort: likewise
	b	mon_unexpected			@ 0x14 unused
	b	mon_irq				@ 0x18 IRQ, only while SCR.IRQ routes it here
	b	mon_fiq				@ 0x1c FIQ: OVM's group-0 interrupts

/* Push the interrupted world's r0-r12, return address and CPSR into the vCPU frame. */
.macro save_guest
	srsdb	sp!, #0x16			@ [sp-8] = lr_mon (guest pc), [sp-4] = spsr_mon (guest cpsr)
	push	{r0-r12}
	mov	r0, sp				@ r0 = struct arch_regs * for C
	mrc	p15, 0, r1, c0, c0, 5		@ r1 = MPIDR, to find this core's stack
	and	r1, r1, #0xff
	ldr	sp, =__mon_stacks_end
	sub	sp, sp, r1, lsl #MON_STACK_SHIFT
.endm

mon_smc:
	save_guest
	bl	arch_handle_smc
	b	arch_world_enter

mon_fiq:
	sub	lr, lr, #4			@ lr_mon = the instruction the FIQ interrupted
	save_guest
	bl	arch_handle_fiq
	b	arch_world_enter

mon_irq:
	sub	lr, lr, #4
	save_guest
	bl	arch_handle_irq
	b	arch_world_enter

mon_unexpected:
	mov	r0, #0x16			@ r0 = the mode that faulted (monitor)
	mov	r1, lr				@ r1 = where
	b	fault_common

/* r0 = struct arch_regs * of the vCPU to run; SCR is already set for it. */
	.global arch_world_enter
arch_world_enter:
	mov	sp, r0				@ sp = frame; after RFE it is the frame's end
	pop	{r0-r12}
	rfeia	sp!				@ pc, cpsr from the frame: into the guest

/*
 * Faults in OVM's own code arrive through the secure vector table, in modes
 * whose banked SP belongs to the guest; use the monitor stack instead and stop.
 */
	.balign 32
	.global secure_vectors
secure_vectors:
	b	.				@ 0x00 reset
	b	sec_undef			@ 0x04 undefined instruction
	b	.				@ 0x08 SVC: OVM never issues one
	b	sec_pabt			@ 0x0c prefetch abort
	b	sec_dabt			@ 0x10 data abort
	b	.				@ 0x14 unused
	b	.				@ 0x18 IRQ: masked in OVM
	b	.				@ 0x1c FIQ: masked in OVM

sec_undef:
	mov	r0, #0x1b			@ r0 = undefined mode
	sub	r1, lr, #4			@ r1 = faulting instruction
	b	fault_common
sec_pabt:
	mov	r0, #0x17			@ r0 = abort mode
	sub	r1, lr, #4
	b	fault_common
sec_dabt:
	mov	r0, #0x17
	sub	r1, lr, #8
	b	fault_common

fault_common:
	mrc	p15, 0, r2, c0, c0, 5		@ r2 = MPIDR, to find this core's stack
	and	r2, r2, #0xff
	ldr	sp, =__mon_stacks_end
	sub	sp, sp, r2, lsl #MON_STACK_SHIFT
	bl	arch_fatal_exception
	b	.
