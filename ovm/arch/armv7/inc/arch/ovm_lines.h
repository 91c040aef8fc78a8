/*
 * The interrupt lines OVM keeps for itself on every core. The build tooling reads
 * them from here (lab/firmware/limits.py) and refuses a scenario that routes one
 * to a VM.
 */
#ifndef ARCH_OVM_LINES_H
#define ARCH_OVM_LINES_H

/* The global timer's comparator (PPI 27): OVM's tick and timer events. */
#define OVM_LINE_EVENT_TIMER 27
/* The SGI one core sends another when it changed that core's queues. */
#define OVM_LINE_KICK 8

#endif
