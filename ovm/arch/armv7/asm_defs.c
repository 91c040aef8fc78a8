/*
 * The offsets and sizes the assembly reads of C's structures, taken from the
 * structures themselves so that the two cannot drift apart. Compiled to
 * assembly only, never linked: each ASM_DEF leaves a "->NAME value" line that
 * the Makefile turns into `#define NAME value` in the generated asm_defs.h.
 */
#include <arch/regs.h>
#include <arch/shim.h>
#include <core/irq.h>
#include <core/vm.h>
#include <stddef.h>

#define ASM_DEF(name, value) __asm__ volatile("\n.ascii \"->" #name " %c0\"" : : "i"(value))
#define MEMBER(type, member) (((type *)0)->member)

/* What the layout must also be, beyond the numbers, for monitor.S's instructions. */
_Static_assert(offsetof(struct vcpu, regs) == 0,
	       "the monitor's SP is the frame and also the vCPU its routing compares with");
_Static_assert(offsetof(struct arch_regs, cpsr) == offsetof(struct arch_regs, pc) + 4,
	       "one LDRD/STRD moves the guest's pc and cpsr");
_Static_assert(sizeof(MEMBER(struct vcpu, se.level)) == 1, "the fast path reads the level by LDRB");
_Static_assert(sizeof(MEMBER(struct vcpu, virq.pending[0])) == 4 &&
		       sizeof(MEMBER(struct irq_lines, targets[0])) == 4,
	       "the fast path indexes these arrays by word (LSL #2)");
_Static_assert(sizeof(MEMBER(struct vcpu, upcall.user)) == 1, "the fast path reads it by LDRB");
_Static_assert(offsetof(struct ovm_vcpu_area, cpsr) == offsetof(struct ovm_vcpu_area, pc) + 4,
	       "one STRD stores the guest's pc and cpsr in its area");
_Static_assert(offsetof(struct arch_context, tpidrurw) == offsetof(struct arch_context, contextidr) + 4 &&
		       offsetof(struct arch_context, tpidruro) == offsetof(struct arch_context, tpidrurw) + 4,
	       "one LDM loads CONTEXTIDR, TPIDRURW and TPIDRURO for a user-mode switch");
_Static_assert(offsetof(struct irq_lines, targets) == 0,
	       "the fast path indexes the targets from the structure's own address");

void asm_defs(void)
{
	ASM_DEF(ARCH_REGS_PC, offsetof(struct arch_regs, pc));
	ASM_DEF(VCPU_VIRQ_PENDING, offsetof(struct vcpu, virq.pending));
	ASM_DEF(VCPU_IRQ_LINES, offsetof(struct vcpu, lines));
	ASM_DEF(VCPU_SE_LEVEL, offsetof(struct vcpu, se.level));
	ASM_DEF(RT_LEVEL_NRT, LEVEL_NRT);
	ASM_DEF(VCPU_UPCALL_USER, offsetof(struct vcpu, upcall.user));
	ASM_DEF(VCPU_UPCALL_AREA, offsetof(struct vcpu, upcall.area));
	ASM_DEF(VCPU_UPCALL_IRQ, offsetof(struct vcpu, upcall.irq_entry));
	ASM_DEF(AREA_MASKED, offsetof(struct ovm_vcpu_area, masked));
	ASM_DEF(AREA_PENDING, offsetof(struct ovm_vcpu_area, pending));
	ASM_DEF(AREA_PC, offsetof(struct ovm_vcpu_area, pc));
	ASM_DEF(USER_UPCALL_CPSR, USER_UPCALL_CPSR);
	ASM_DEF(IRQ_LINES_COUNT, ARRAY_SIZE(MEMBER(struct irq_lines, targets)));
	ASM_DEF(IRQ_LINES_GICC, offsetof(struct irq_lines, gicc));
	ASM_DEF(IRQ_LINES_ICENABLER, offsetof(struct irq_lines, gicd_icenabler));
	ASM_DEF(IRQ_LINES_FAST_DELIVERIES, offsetof(struct irq_lines, fast_deliveries));
	ASM_DEF(CTX_SP_USR, offsetof(struct arch_context, sp_usr));
	ASM_DEF(CTX_LR_USR, offsetof(struct arch_context, lr_usr));
	ASM_DEF(CTX_TTBR0, offsetof(struct arch_context, ttbr0));
	ASM_DEF(CTX_CONTEXTIDR, offsetof(struct arch_context, contextidr));
	ASM_DEF(CTX_TPIDRURW, offsetof(struct arch_context, tpidrurw));
}
