#include <core/admission.h>

#define ONE_FP32 (1ull << 32)
#define ONE_FP20 (1ull << 20)
/* Budgets never exceed periods, so each task's work over h is at most h: 8 * h fits. */
#define HYPERPERIOD_EXACT_CAP (1ull << 60)

static u64 ceil_div(u64 a, u64 b)
{
	return a / b + (a % b != 0);
}

static u64 gcd(u64 a, u64 b)
{
	while (b) {
		u64 r = a % b;
		a = b;
		b = r;
	}
	return a;
}

/* Least common multiple of the periods, or 0 if it exceeds `cap`. */
static u64 hyperperiod(const struct rt_task *tasks, u32 count, u64 cap)
{
	u64 l = 1;

	for (u32 i = 0; i < count; i++) {
		u64 step = tasks[i].period / gcd(l, tasks[i].period);
		if (step > cap / l)
			return 0;
		l *= step;
	}
	return l;
}

/*
 * Rounding each term up can push a set at exactly utilization 1 over it:
 * decide those exactly, as whole budgets over one hyperperiod.
 */
static bool exactly_at_most_one(const struct rt_task *tasks, u32 count)
{
	u64 h = hyperperiod(tasks, count, HYPERPERIOD_EXACT_CAP);
	u64 work = 0;

	if (h == 0)
		return false;
	for (u32 i = 0; i < count; i++)
		work += tasks[i].budget * (h / tasks[i].period);
	return work <= h;
}

static u64 demand(const struct rt_task *tasks, u32 count, u64 t)
{
	u64 sum = 0;

	for (u32 i = 0; i < count; i++)
		if (tasks[i].deadline <= t)
			sum += ((t - tasks[i].deadline) / tasks[i].period + 1) * tasks[i].budget;
	return sum;
}

/*
 * Past this interval length the demand of a set with U < 1 cannot exceed
 * the supply: sum((T_i - D_i) U_i) / (1 - U), since each task's demand in
 * [0, t] is at most U_i (t + T_i - D_i). (Zhang and Burns take the max with
 * D_i - T_i as well, which is never positive for D_i <= T_i; a max with D_max
 * would only add points, enough for a long deadline next to a short period
 * to exceed ADMISSION_MAX_POINTS and refuse a feasible set.)
 */
static u64 demand_bound(const struct rt_task *tasks, u32 count, bool *exact_u_is_one)
{
	u64 u = 0, weighted = 0;

	for (u32 i = 0; i < count; i++) {
		u64 term = ceil_div(tasks[i].budget << 20, tasks[i].period);
		u += term;
		weighted += (tasks[i].period - tasks[i].deadline) * term;
	}
	*exact_u_is_one = u >= ONE_FP20;
	if (*exact_u_is_one)
		return 0;
	return ceil_div(weighted, ONE_FP20 - u);
}

struct admission_result edf_admission(const struct rt_task *tasks, u32 count)
{
	struct admission_result result = { .schedulable = true };
	u64 u = 0;
	bool implicit = true;

	for (u32 i = 0; i < count; i++) {
		u += ceil_div(tasks[i].budget << 32, tasks[i].period);
		implicit = implicit && tasks[i].deadline == tasks[i].period;
	}
	result.utilization_ppm = (u32)ceil_div(u * 1000000ull, ONE_FP32);
	if (u > ONE_FP32 && !(u - ONE_FP32 <= count && exactly_at_most_one(tasks, count))) {
		result.schedulable = false;
		return result;
	}
	if (implicit)
		return result;

	bool at_one;
	u64 bound = demand_bound(tasks, count, &at_one);
	if (at_one)
		bound = hyperperiod(tasks, count, ADMISSION_MAX_POINTS * tasks[0].period);
	if (bound == 0) {
		result.schedulable = false;
		result.too_many_points = true;
		return result;
	}
	u32 points = 0;
	for (u32 i = 0; i < count && result.schedulable; i++) {
		for (u64 t = tasks[i].deadline; t <= bound; t += tasks[i].period) {
			if (++points > ADMISSION_MAX_POINTS) {
				result.schedulable = false;
				result.too_many_points = true;
				return result;
			}
			u64 d = demand(tasks, count, t);
			if (d > t) {
				result.schedulable = false;
				result.failed_at = t;
				result.demand = d;
				break;
			}
		}
	}
	return result;
}
