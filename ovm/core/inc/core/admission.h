/*
 * EDF admission for one core: the processor-demand test (Baruah, Rosier,
 * Howell), which for implicit deadlines reduces to utilization <= 1. Integer
 * arithmetic only: utilization is summed rounded up, and a sum that lands
 * just above 1 is decided exactly over the hyperperiod (a set whose
 * hyperperiod exceeds 2^60 at utilization 1 is refused). A set whose density
 * is at most 1 needs no more; otherwise the demand is checked at no more than
 * ADMISSION_MAX_POINTS deadlines, and a set that needs more is refused: OVM
 * runs this with its interrupts masked, for any guest's parameters, so its
 * cost must stay small. lab/firmware/admission.py has the same algorithm for
 * the build tooling (ovm_admission) beside the exact test on fractions.
 */
#ifndef CORE_ADMISSION_H
#define CORE_ADMISSION_H

#include <lib/types.h>

#define ADMISSION_MAX_TASKS 8
/* Demand is checked at no more deadlines than this; a set that needs more is refused. */
#define ADMISSION_MAX_POINTS 64u

struct rt_task {
	u64 deadline;
	u64 period;
	u64 budget;
};

struct admission_result {
	bool schedulable;
	/* Sum of budget/period in parts per million, rounded up. */
	u32 utilization_ppm;
	/* When refused by demand: an interval [0, t] whose demand exceeds t. */
	u64 failed_at;
	u64 demand;
	/* Refused because proving it would take more than ADMISSION_MAX_POINTS checks. */
	bool too_many_points;
};

struct admission_result edf_admission(const struct rt_task *tasks, u32 count);

#endif
