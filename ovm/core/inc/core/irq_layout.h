/*
 * The data the FIQ fast path in the monitor (arch/.../monitor.S) reads, by
 * offset: the vCPU frame's neighbours and a core's routing lines. C checks
 * every offset against the structures (core/irq.c), so a layout change fails
 * the build instead of the fast path.
 */
#ifndef CORE_IRQ_LAYOUT_H
#define CORE_IRQ_LAYOUT_H

/* struct vcpu: regs (the monitor's frame) first, then virq.pending, then the core's lines. */
#define VCPU_VIRQ_PENDING 60
#define VCPU_IRQ_LINES 100
/* struct vcpu: se.level, one byte (short enums), and enum rt_level's NRT. */
#define VCPU_SE_LEVEL 264
#define RT_LEVEL_NRT 2

/* struct irq_lines: the target vCPU of each routable line, then the GIC addresses. */
#define IRQ_LINES_COUNT 128
#define IRQ_LINES_GICC 512
#define IRQ_LINES_ICENABLER 516
#define IRQ_LINES_FAST_DELIVERIES 520

#endif
