#ifndef ARCH_CACHE_H
#define ARCH_CACHE_H

void cache_l1_invalidate_all(void);
void cache_l1_clean_invalidate_all(void);

#endif
