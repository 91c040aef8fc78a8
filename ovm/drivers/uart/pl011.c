/* ARM PrimeCell PL011 (the vexpress boards' UART0). */
#include <arch/cpu.h>
#include <drivers/uart.h>

#define UART_DR 0x00
#define UART_FR 0x18
#define UART_IBRD 0x24
#define UART_FBRD 0x28
#define UART_LCRH 0x2c
#define UART_CR 0x30

#define FR_RXFE BIT(4)
#define FR_TXFF BIT(5)
#define LCRH_8N1_FIFO 0x70
#define CR_UARTEN_TXE_RXE 0x301

void uart_init(u32 base, u32 clock_hz, u32 baud)
{
	/* The divisor in 1/64ths: integer part in IBRD, fraction in FBRD. */
	u32 div64 = (clock_hz * 4u) / baud;

	mmio_write32(base + UART_CR, 0);
	mmio_write32(base + UART_IBRD, div64 >> 6);
	mmio_write32(base + UART_FBRD, div64 & 63u);
	mmio_write32(base + UART_LCRH, LCRH_8N1_FIFO);
	mmio_write32(base + UART_CR, CR_UARTEN_TXE_RXE);
}

bool uart_tx_ready(u32 base)
{
	return !(mmio_read32(base + UART_FR) & FR_TXFF);
}

void uart_putc(u32 base, char c)
{
	while (!uart_tx_ready(base))
		;
	mmio_write32(base + UART_DR, (u8)c);
}

int uart_getc(u32 base)
{
	if (mmio_read32(base + UART_FR) & FR_RXFE)
		return -1;
	return (int)(mmio_read32(base + UART_DR) & 0xffu);
}
