/* srt_vfp's part of each report: whether any register held what the guest did not put there. */
#include "guest.h"

/* Counted by work.S. */
extern volatile u32 vfp_checks, vfp_errors;

void job_report(u32 jobs)
{
	gprintf("vfp: %u jobs, %u register checks, %u registers changed under the guest\n",
		jobs, vfp_checks, vfp_errors);
}
