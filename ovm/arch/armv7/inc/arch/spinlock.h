#ifndef ARCH_SPINLOCK_H
#define ARCH_SPINLOCK_H

#include <lib/types.h>

typedef struct {
	volatile u32 locked;
} spinlock_t;

#define SPINLOCK_INIT { 0 }

void spin_lock(spinlock_t *lock);
void spin_unlock(spinlock_t *lock);

#endif
