/* Cadence UART (Zynq-7000 UART0/1; the ZC702's USB-UART is UART1). */
#include <arch/cpu.h>
#include <drivers/uart.h>

#define UART_CR 0x00
#define UART_MR 0x04
#define UART_BAUDGEN 0x18
#define UART_SR 0x2c
#define UART_FIFO 0x30
#define UART_BAUDDIV 0x34

#define CR_RXRES BIT(0)
#define CR_TXRES BIT(1)
#define CR_RXEN BIT(2)
#define CR_TXEN BIT(4)
#define CR_RXDIS BIT(3)
#define CR_TXDIS BIT(5)
#define MR_8N1 0x20
#define SR_RXEMPTY BIT(1)
#define SR_TXFULL BIT(4)

/* baud = clock / (CD * (BDIV + 1)); BDIV = 6 keeps CD in range for 9600..921600 at 100 MHz. */
#define BDIV 6u

void uart_init(u32 base, u32 clock_hz, u32 baud)
{
	mmio_write32(base + UART_CR, CR_TXDIS | CR_RXDIS);
	mmio_write32(base + UART_MR, MR_8N1);
	mmio_write32(base + UART_BAUDGEN, clock_hz / (baud * (BDIV + 1u)));
	mmio_write32(base + UART_BAUDDIV, BDIV);
	mmio_write32(base + UART_CR, CR_TXRES | CR_RXRES | CR_TXEN | CR_RXEN);
}

bool uart_tx_ready(u32 base)
{
	return !(mmio_read32(base + UART_SR) & SR_TXFULL);
}

void uart_putc(u32 base, char c)
{
	while (!uart_tx_ready(base))
		;
	mmio_write32(base + UART_FIFO, (u8)c);
}

int uart_getc(u32 base)
{
	if (mmio_read32(base + UART_SR) & SR_RXEMPTY)
		return -1;
	return (int)(mmio_read32(base + UART_FIFO) & 0xffu);
}
