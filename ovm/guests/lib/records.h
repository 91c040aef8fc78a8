/*
 * The lab's record line protocol, version 1 (lab/records.py reads it):
 *
 *   @ovm1 B <series> n=<count> unit=<unit>      #<crc>   a series begins
 *   @ovm1 S <series> <first index> <v> <v> ...  #<crc>   samples, in order
 *   @ovm1 E <series> n=<count>                  #<crc>   the series is complete
 *
 * <crc> is the CRC-32 (IEEE) of the line from '@' up to the space before
 * '#', in 8 lower-case hex digits. Guests keep samples in RAM while they
 * measure and print them afterwards, so the console stays quiet meanwhile.
 */
#ifndef GUEST_RECORDS_H
#define GUEST_RECORDS_H

#include <lib/types.h>

#define RECORD_SAMPLES_PER_LINE 16

u32 record_crc32(const char *text, u32 len);
/* Print a whole series: begin, its samples in lines of RECORD_SAMPLES_PER_LINE, end. */
void record_series(const char *series, const char *unit, const u32 *values, u32 count);

#endif
