/*
 * SRT with VFP/NEON work: the srt guest, whose jobs compute with every VFP/NEON
 * register instead of spinning (work.S, which also reports what it found), on a
 * core it shares with a VM that uses them too (Linux). The VM must declare
 * `fpu: true`.
 */
#include "../srt/main.c"
