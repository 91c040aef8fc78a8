/* The Cortex-A9 MPCore private region, the same on every board with this CPU. */
#ifndef ARCH_PERIPH_H
#define ARCH_PERIPH_H

#include <core/config.h>

#define SCU_BASE (board.periph_base + 0x0000)
#define GICC_BASE (board.periph_base + 0x0100)
#define GTIMER_BASE (board.periph_base + 0x0200)
#define PTIMER_BASE (board.periph_base + 0x0600)
#define GICD_BASE (board.periph_base + 0x1000)

#define SCU_SNSAC 0x54

#endif
