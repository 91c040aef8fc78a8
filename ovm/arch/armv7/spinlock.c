#include <arch/cpu.h>
#include <arch/spinlock.h>

/* Needs OVM's MMU on: exclusives are only defined on cacheable normal memory. */
void spin_lock(spinlock_t *lock)
{
	u32 old, taken, failed;

	/* Take a ticket: `next` is the word's upper half. */
	do {
		__asm__ volatile("ldrex %0, [%3]\n"
				 "add %1, %0, #0x10000\n"
				 "strex %2, %1, [%3]\n"
				 : "=&r"(old), "=&r"(taken), "=&r"(failed)
				 : "r"(lock)
				 : "cc", "memory");
	} while (failed);
	u16 ticket = (u16)(old >> 16);
	while (lock->owner != ticket)
		wfe();
	dmb();
}

void spin_unlock(spinlock_t *lock)
{
	dmb();
	lock->owner = (u16)(lock->owner + 1);
	dsb();
	sev();
}
