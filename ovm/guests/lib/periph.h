/*
 * The Cortex-A9 private region as guests use it (offsets from
 * platform.periph_base): the GIC's CPU interface and distributor, the global
 * timer, and the core's private timer and watchdog, which share one register
 * layout.
 */
#ifndef GUEST_PERIPH_H
#define GUEST_PERIPH_H

#define GICC_CTLR 0x100
#define GICC_PMR 0x104
#define GICC_IAR 0x10c
#define GICC_EOIR 0x110
/* An IAR id at or above this: nothing to acknowledge. */
#define GIC_SPURIOUS 1022
#define GICD_CTLR 0x1000
#define GICD_ISENABLER0 0x1100

#define GTIMER_COUNTER_LO 0x200
#define GTIMER_COUNTER_HI 0x204

#define PTIMER_BASE 0x600
#define WDT_BASE 0x620
/* Registers of either timer, from its base. */
#define TIMER_LOAD 0x0
#define TIMER_COUNTER 0x4
#define TIMER_CONTROL 0x8
#define TIMER_ISR 0xc
/* Enabled, auto-reload, interrupt on expiry (for the watchdog: in timer mode). */
#define TIMER_ENABLE_AUTO_IRQ 0x7u

#define IRQ_PRIVATE_TIMER 29
#define IRQ_WATCHDOG 30

#endif
