/*
 * The console UART. Each driver in drivers/uart/ implements this; the board
 * file names one (console.driver) and only that one is linked.
 */
#ifndef DRIVERS_UART_H
#define DRIVERS_UART_H

#include <lib/types.h>

void uart_init(u32 base, u32 clock_hz, u32 baud);
/* Waits while the transmit FIFO is full. */
void uart_putc(u32 base, char c);
/* The transmit FIFO takes a byte now. */
bool uart_tx_ready(u32 base);
/* The next received byte, or -1 if none has arrived; never waits. */
int uart_getc(u32 base);

#endif
