#ifndef LIB_STRING_H
#define LIB_STRING_H

#include <lib/types.h>

/* The compiler may emit calls to these even in freestanding code. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
/* Bulk loads: word by word where aligned. */
void memcpy_bulk(void *dst, const void *src, size_t n);
void memzero(u32 base, u32 size);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

#endif
