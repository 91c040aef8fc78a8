#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <lib/types.h>

#define PSR_MODE_USR 0x10
#define PSR_MODE_FIQ 0x11
#define PSR_MODE_IRQ 0x12
#define PSR_MODE_SVC 0x13
#define PSR_MODE_MON 0x16
#define PSR_MODE_ABT 0x17
#define PSR_MODE_UND 0x1b
#define PSR_MODE_SYS 0x1f
#define PSR_F BIT(6)
#define PSR_I BIT(7)
#define PSR_A BIT(8)

/* Secure Configuration Register. */
#define SCR_NS BIT(0)
#define SCR_IRQ BIT(1)
#define SCR_FIQ BIT(2)
#define SCR_EA BIT(3)
#define SCR_FW BIT(4)
#define SCR_AW BIT(5)

#define CP15_READ(name, op1, crn, crm, op2)                                    \
	static inline u32 read_##name(void)                                    \
	{                                                                      \
		u32 v;                                                         \
		__asm__ volatile("mrc p15, " #op1 ", %0, " #crn ", " #crm ", " #op2 \
				 : "=r"(v));                                   \
		return v;                                                      \
	}
#define CP15_WRITE(name, op1, crn, crm, op2)                                   \
	static inline void write_##name(u32 v)                                 \
	{                                                                      \
		__asm__ volatile("mcr p15, " #op1 ", %0, " #crn ", " #crm ", " #op2 \
				 ::"r"(v) : "memory");                          \
	}
#define CP15_RW(name, op1, crn, crm, op2)                                      \
	CP15_READ(name, op1, crn, crm, op2)                                    \
	CP15_WRITE(name, op1, crn, crm, op2)

CP15_READ(mpidr, 0, c0, c0, 5)
CP15_RW(sctlr, 0, c1, c0, 0)
CP15_RW(actlr, 0, c1, c0, 1)
CP15_RW(scr, 0, c1, c1, 0)
CP15_RW(nsacr, 0, c1, c1, 2)
CP15_RW(ttbr0, 0, c2, c0, 0)
CP15_RW(ttbcr, 0, c2, c0, 2)
CP15_RW(dacr, 0, c3, c0, 0)
CP15_RW(vbar, 0, c12, c0, 0)
CP15_RW(mvbar, 0, c12, c0, 1)
CP15_WRITE(tlbiall, 0, c8, c7, 0)
CP15_WRITE(iciallu, 0, c7, c5, 0)
CP15_WRITE(bpiall, 0, c7, c5, 6)

static inline void isb(void) { __asm__ volatile("isb" ::: "memory"); }
static inline void dsb(void) { __asm__ volatile("dsb" ::: "memory"); }
static inline void dmb(void) { __asm__ volatile("dmb" ::: "memory"); }
static inline void sev(void) { __asm__ volatile("sev" ::: "memory"); }
static inline void wfe(void) { __asm__ volatile("wfe" ::: "memory"); }
/* A hint on silicon; under QEMU's round-robin TCG it lets the other cores run. */
static inline void cpu_relax(void) { __asm__ volatile("yield" ::: "memory"); }
static inline void wfi(void) { __asm__ volatile("wfi" ::: "memory"); }

static inline u32 cpu_id(void)
{
	return read_mpidr() & 0xff;
}

static inline u32 mmio_read32(u32 addr)
{
	return *(volatile u32 *)(uintptr_t)addr;
}

static inline void mmio_write32(u32 addr, u32 value)
{
	*(volatile u32 *)(uintptr_t)addr = value;
}

#endif
