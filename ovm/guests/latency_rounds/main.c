/*
 * The latency probe in rounds: the latency guest's first series, then a round of
 * the same samples every second for as long as the VM runs (rounds.c). For an HRT
 * VM whose neighbour's life has phases (Linux booting on the other core, then
 * loaded): its latency is compared with native's in each phase, not only at OVM's
 * boot.
 */
#include "../latency/main.c"
