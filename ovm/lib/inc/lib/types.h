#ifndef LIB_TYPES_H
#define LIB_TYPES_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;
/* The compiler's own, so the core's pure logic also builds for a 64-bit host. */
typedef __SIZE_TYPE__ size_t;
typedef __UINTPTR_TYPE__ uintptr_t;

#define NULL ((void *)0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIT(n) (1u << (n))

typedef _Bool bool;
#define true 1
#define false 0

#endif
