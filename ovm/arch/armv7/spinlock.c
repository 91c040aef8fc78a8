#include <arch/cpu.h>
#include <arch/spinlock.h>

/* Needs OVM's MMU on: exclusives are only defined on cacheable normal memory. */
void spin_lock(spinlock_t *lock)
{
	u32 busy, failed;

	do {
		__asm__ volatile("ldrex %0, [%2]\n"
				 "mov %1, #1\n"
				 "teq %0, #0\n"
				 "strexeq %1, %3, [%2]\n"
				 : "=&r"(busy), "=&r"(failed)
				 : "r"(&lock->locked), "r"(1)
				 : "cc", "memory");
		if (failed)
			wfe();
	} while (failed);
	dmb();
}

void spin_unlock(spinlock_t *lock)
{
	dmb();
	lock->locked = 0;
	dsb();
	sev();
}
