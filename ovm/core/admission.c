#include <core/admission.h>

#define ONE_FP32 (1ull << 32)
#define ONE_FP20 (1ull << 20)
/* Budgets never exceed periods, so each task's work over h is at most h: 8 * h fits. */
#define HYPERPERIOD_EXACT_CAP (1ull << 60)

static u64 ceil_div(u64 a, u64 b)
{
	return a / b + (a % b != 0);
}

/* Binary GCD: shifts and subtractions, a bounded number of them (at most 64 + 64). */
static u64 gcd(u64 a, u64 b)
{
	if (!a || !b)
		return a | b;
	u32 shift = (u32)__builtin_ctzll(a | b);
	a >>= __builtin_ctzll(a);
	while (b) {
		b >>= __builtin_ctzll(b);
		if (a > b) {
			u64 t = a;
			a = b;
			b = t;
		}
		b -= a;
	}
	return a << shift;
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

/*
 * Sum of budget / min(deadline, period), rounded up, at most 1: every job fits
 * before its deadline (the density test, sufficient for EDF and cheap).
 */
static bool density_at_most_one(const struct rt_task *tasks, u32 count)
{
	u64 density = 0;

	for (u32 i = 0; i < count; i++)
		density += ceil_div(tasks[i].budget << 32, tasks[i].deadline);
	return density <= ONE_FP32;
}

/*
 * The demand at every absolute deadline up to `bound`, in increasing order:
 * each is the one before plus the budgets due there, so no division. At most
 * ADMISSION_MAX_POINTS of them, which bounds the call whatever the parameters.
 */
static void check_demand(const struct rt_task *tasks, u32 count, u64 bound,
			 struct admission_result *result)
{
	u64 next[ADMISSION_MAX_TASKS];
	u64 due = 0;

	for (u32 i = 0; i < count; i++)
		next[i] = tasks[i].deadline;
	for (u32 points = 0;; points++) {
		u64 t = next[0];
		for (u32 i = 1; i < count; i++)
			if (next[i] < t)
				t = next[i];
		if (t > bound)
			return;
		if (points == ADMISSION_MAX_POINTS) {
			result->schedulable = false;
			result->too_many_points = true;
			return;
		}
		for (u32 i = 0; i < count; i++)
			if (next[i] == t) {
				due += tasks[i].budget;
				next[i] += tasks[i].period;
			}
		if (due > t) {
			result->schedulable = false;
			result->failed_at = t;
			result->demand = due;
			return;
		}
	}
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
	if (implicit || density_at_most_one(tasks, count))
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
	check_demand(tasks, count, bound, &result);
	return result;
}
