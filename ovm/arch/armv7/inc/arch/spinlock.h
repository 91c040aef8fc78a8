#ifndef ARCH_SPINLOCK_H
#define ARCH_SPINLOCK_H

#include <lib/types.h>

/*
 * A ticket lock: cores get it in the order they asked. A plain test-and-set
 * lock let one core that takes it on every entry into OVM (a guest making
 * hypercalls in a loop) starve the other under QEMU's round-robin cores.
 */
typedef struct {
	/* The ticket being served, and the next one to hand out: one word for LDREX. */
	volatile u16 owner;
	volatile u16 next;
} __attribute__((aligned(4))) spinlock_t;

#define SPINLOCK_INIT { 0, 0 }

void spin_lock(spinlock_t *lock);
void spin_unlock(spinlock_t *lock);

#endif
