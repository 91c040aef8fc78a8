/*
 * The lab's record line protocol, version 1 (lab/target/records.py reads it):
 *
 *   @ovm1 B <series> n=<count> unit=<unit>      #<crc>   a series begins
 *   @ovm1 S <series> <first index> <v> <v> ...  #<crc>   samples, in order
 *   @ovm1 E <series> n=<count>                  #<crc>   the series is complete
 *   @ovm1 V <name> <key>=<v> <key>=<v> ...      #<crc>   single values (a summary's figures)
 *
 * <crc> is the CRC-32 (IEEE) of the line from '@' up to the space before
 * '#', in 8 lower-case hex digits. Guests keep samples in RAM while they
 * measure and print them afterwards, so the console stays quiet meanwhile.
 * A V record stands alone: values signed decimal, keys [a-z_][a-z0-9_]*;
 * the lab keeps the last one a VM prints under a name. Guests print it right
 * after the prose line it mirrors: the prose is for people, the record for the lab.
 */
#ifndef GUEST_RECORDS_H
#define GUEST_RECORDS_H

#include <lib/types.h>

#define RECORD_SAMPLES_PER_LINE 16

u32 record_crc32(const char *text, u32 len);
/* Print a whole series: begin, its samples in lines of RECORD_SAMPLES_PER_LINE, end. */
void record_series(const char *series, const char *unit, const u32 *values, u32 count);

struct record_value {
	const char *key;
	s32 value;
};

/* Print one V record: name's values, in the order given. */
void record_values(const char *name, const struct record_value *values, u32 count);

#endif
