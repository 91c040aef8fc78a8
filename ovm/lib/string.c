#include <lib/string.h>

void *memcpy(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

/*
 * Loading megabytes (a Linux kernel and its initramfs): a word at a time where both
 * sides are aligned, so a VM's boot costs a quarter of the instructions.
 */
void memcpy_bulk(void *dst, const void *src, size_t n)
{
	u8 *d = dst;
	const u8 *s = src;

	if ((((uintptr_t)d | (uintptr_t)s) & 3) == 0)
		for (; n >= 4; n -= 4, d += 4, s += 4)
			*(u32 *)(void *)d = *(const u32 *)(const void *)s;
	while (n--)
		*d++ = *s++;
}

void memzero(u32 base, u32 size)
{
	u8 *d = (u8 *)(uintptr_t)base;

	if ((base & 3) == 0)
		for (; size >= 4; size -= 4, d += 4)
			*(u32 *)(void *)d = 0;
	while (size--)
		*d++ = 0;
}

void *memset(void *dst, int c, size_t n)
{
	u8 *d = dst;

	while (n--)
		*d++ = (u8)c;
	return dst;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (u8)*a - (u8)*b;
}
