/*
 * GIC with the Security Extensions, AckCtl=0: group 0 is OVM's and arrives
 * as FIQ (to the monitor, SCR.FIQ=1); group 1 belongs to supervisor-mode HRT
 * guests and arrives as IRQ in the non-secure world. Every line starts in
 * group 0 and disabled, so that the non-secure side can neither enable,
 * target nor pend it; OVM claims what it routes and releases to group 1 only
 * the lines a supervisor-mode HRT guest takes itself.
 */
#include <arch/arch.h>
#include <arch/cpu.h>
#include <arch/gic.h>
#include <arch/ovm_lines.h>
#include <arch/periph.h>

#define GICD_CTLR 0x000
#define GICD_IGROUPR 0x080
#define GICD_ISENABLER 0x100
#define GICD_ISPENDR 0x200
#define GICD_ICPENDR 0x280
#define GICD_IPRIORITYR 0x400
#define GICD_ITARGETSR 0x800
#define GICD_SGIR 0xf00

#define GICC_CTLR 0x00
#define GICC_PMR 0x04
#define GICC_BPR 0x08

#define GICD_CTLR_ENABLE_GRP0 BIT(0)
#define GICD_CTLR_ENABLE_GRP1 BIT(1)
#define GICC_CTLR_ENABLE_GRP0 BIT(0)
#define GICC_CTLR_ENABLE_GRP1 BIT(1)
#define GICC_CTLR_FIQ_EN BIT(3)

/* Below 0x80: only the secure side can use it, so guests cannot outrank OVM. */
#define GUEST_DEFAULT_PRIORITY 0xa0

static void set_priority(u32 irq, u8 priority)
{
	u32 reg = GICD_BASE + GICD_IPRIORITYR + (irq & ~3u);
	u32 shift = (irq & 3u) * 8;
	u32 v = mmio_read32(reg);

	mmio_write32(reg, (v & ~(0xffu << shift)) | ((u32)priority << shift));
}

void gic_dist_init(u32 lines)
{
	mmio_write32(GICD_BASE + GICD_CTLR, 0);
	for (u32 irq = 32; irq < lines; irq += 32) {
		mmio_write32(GICD_BASE + GICD_ICENABLER + irq / 8, 0xffffffff);
		mmio_write32(GICD_BASE + GICD_ICPENDR + irq / 8, 0xffffffff);
		mmio_write32(GICD_BASE + GICD_IGROUPR + irq / 8, 0);
	}
	for (u32 irq = 32; irq < lines; irq++)
		set_priority(irq, GUEST_DEFAULT_PRIORITY);
	mmio_write32(GICD_BASE + GICD_CTLR, GICD_CTLR_ENABLE_GRP0 | GICD_CTLR_ENABLE_GRP1);
}

/*
 * The priority mask that holds back group 1: every group-1 priority is 0x80 or more
 * (a non-secure write sets 0x80 | value >> 1), OVM's are below. The non-secure
 * side cannot open the mask wider than this from here (its writes are ignored
 * while the mask is below 0x80, and land as 0x80 | value >> 1 otherwise).
 */
#define DIRECT_IRQS_HELD 0x80

u32 arch_direct_irqs_hold(void)
{
	u32 mask = mmio_read32(GICC_BASE + GICC_PMR);

	mmio_write32(GICC_BASE + GICC_PMR, DIRECT_IRQS_HELD);
	return mask;
}

void arch_direct_irqs_resume(u32 mask)
{
	mmio_write32(GICC_BASE + GICC_PMR, mask);
}

void gic_cpu_init(void)
{
	/* SGIs and PPIs are banked per core: every core sets its own. */
	mmio_write32(GICD_BASE + GICD_ICENABLER, 0xffffffff);
	mmio_write32(GICD_BASE + GICD_IGROUPR, 0);
	for (u32 irq = 0; irq < 32; irq++)
		set_priority(irq, GUEST_DEFAULT_PRIORITY);
	mmio_write32(GICC_BASE + GICC_PMR, DIRECT_IRQS_HELD);
	mmio_write32(GICC_BASE + GICC_BPR, 0);
	mmio_write32(GICC_BASE + GICC_CTLR,
		     GICC_CTLR_ENABLE_GRP0 | GICC_CTLR_ENABLE_GRP1 | GICC_CTLR_FIQ_EN);
}

static void set_target(u32 irq, u32 core)
{
	if (irq < 32)
		return;
	u32 reg = GICD_BASE + GICD_ITARGETSR + (irq & ~3u);
	u32 shift = (irq & 3u) * 8;
	u32 v = mmio_read32(reg);
	mmio_write32(reg, (v & ~(0xffu << shift)) | (BIT(core) << shift));
}

static void set_group1(u32 irq, bool group1)
{
	u32 bit = BIT(irq % 32);
	u32 group = GICD_BASE + GICD_IGROUPR + (irq / 32) * 4;

	mmio_write32(group, group1 ? mmio_read32(group) | bit : mmio_read32(group) & ~bit);
}

void gic_claim(u32 irq, u8 priority, u32 core)
{
	set_priority(irq, priority);
	set_group1(irq, false);
	set_target(irq, core);
	mmio_write32(GICD_BASE + GICD_ISENABLER + (irq / 32) * 4, BIT(irq % 32));
}

void gic_unmask(u32 irq)
{
	mmio_write32(GICD_BASE + GICD_ISENABLER + (irq / 32) * 4, BIT(irq % 32));
}

/* Routed guest interrupts: below OVM's own event timer, above anything a guest can set. */
#define ROUTED_PRIORITY 0x50

void arch_irq_claim(u32 irq, u32 core)
{
	gic_claim(irq, ROUTED_PRIORITY, core);
}

void arch_irq_release(u32 irq, u32 core)
{
	set_priority(irq, GUEST_DEFAULT_PRIORITY);
	set_target(irq, core);
	set_group1(irq, true);
}

void arch_irq_pend(u32 irq)
{
	dsb();
	mmio_write32(GICD_BASE + GICD_ISPENDR + (irq / 32) * 4, BIT(irq % 32));
}

void arch_irq_mask(u32 irq)
{
	gic_mask(irq);
}

void arch_irq_unmask(u32 irq)
{
	gic_unmask(irq);
}

void arch_irq_fast_regs(u32 *gicc, u32 *gicd_icenabler)
{
	*gicc = GICC_BASE;
	*gicd_icenabler = GICD_BASE + GICD_ICENABLER;
}

/*
 * The SGI one core sends another when it changed that core's queues (an I/O
 * answer, a VM registered): the receiver leaves its WFI and schedules again.
 * Group 0, at the event timer's priority.
 */
#define KICK_PRIORITY 0x40

void arch_kick_init(void)
{
	gic_claim(OVM_LINE_KICK, KICK_PRIORITY, cpu_id());
}

void arch_kick(u32 core)
{
	dsb();
	/* A secure write with NSATT=0 sends the SGI as group 0. */
	mmio_write32(GICD_BASE + GICD_SGIR, (BIT(core) << 16) | OVM_LINE_KICK);
}

u32 arch_kick_irq(void)
{
	return OVM_LINE_KICK;
}
