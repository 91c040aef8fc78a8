/*
 * What happens around every entry into OVM on a core: count it, and on the
 * way out let the scheduler pick the vCPU to resume, switch to it, deliver
 * its pending virtual interrupts and set the core's next timer event.
 */
#include <arch/arch.h>
#include <arch/cpu.h>
#include <core/console.h>
#include <core/irq.h>
#include <core/vm.h>

/*
 * A guest with a pending interrupt but IRQs masked is looked at again this
 * soon. Long against the exit path itself (a few hundred instructions), or
 * the event would be due again before it is programmed, every time.
 */
#define REDELIVERY_US 20

struct cpu *this_cpu(void)
{
	return &cpus[cpu_id()];
}

void core_entry(u32 core, enum entry_kind kind)
{
	cpus[core].entries[kind]++;
}

void core_kick(u32 core)
{
	if (core == cpu_id())
		cpus[core].resched = true;
	else
		arch_kick(core);
}

/*
 * A guest's line waits for its console round. A ticking core serves rounds at its
 * next tick; a tickless one only when its timer says so, which it must learn now,
 * and a core handed over to an HRT VM serves none: the first core that ticks does,
 * or else a core that waits for its first vCPU.
 */
void core_console_waiting(void)
{
	struct cpu *cpu = this_cpu();
	u32 idle = board.cores;

	if (cpu->ticking) {
		cpu->resched |= !cpu->tick;
		return;
	}
	for (u32 core = 0; core < board.cores; core++) {
		if (cpus[core].ticking) {
			if (!cpus[core].tick)
				arch_kick(core);
			return;
		}
		if (cpus[core].idle && idle == board.cores)
			idle = core;
	}
	if (idle < board.cores)
		arch_kick(idle);
}

/*
 * Besides the registers every vCPU has: VFP/NEON state for the VMs that declare it,
 * and a supervisor-mode vCPU's direct lines, held back while it is away. Kept off
 * the path of switches between vCPUs that have neither.
 */
static void switch_extras(struct vcpu *prev, struct vcpu *next)
{
	bool prev_fpu = prev && (prev->extras & VCPU_EXTRA_FPU);
	bool next_fpu = next->extras & VCPU_EXTRA_FPU;

	if (prev_fpu)
		arch_fpu_save(&prev->fpu);
	if (prev && (prev->extras & VCPU_EXTRA_DIRECT_IRQS))
		prev->direct_irqs_mask = arch_direct_irqs_hold();
	if (next_fpu != prev_fpu || !prev)
		arch_fpu_grant(next_fpu);
	if (next_fpu)
		arch_fpu_restore(&next->fpu);
	if (next->extras & VCPU_EXTRA_DIRECT_IRQS)
		arch_direct_irqs_resume(next->direct_irqs_mask);
}

static void switch_to(struct cpu *cpu, struct vcpu *next)
{
	struct vcpu *prev = cpu->current;

	if (prev && arch_user_switch_holds(&prev->regs, &prev->upcall, &next->regs, &next->upcall)) {
		arch_user_context_switch(&prev->ctx, &next->ctx);
	} else {
		if (prev)
			arch_context_save(&prev->ctx);
		arch_context_restore(&next->ctx);
	}
	if (!prev || (prev->extras | next->extras))
		switch_extras(prev, next);
	cpu->current = next;
}

static void signal_misses_and_timers(struct cpu *cpu, u64 now)
{
	for (u32 i = 0; i < cpu->rq.attached; i++) {
		struct vcpu *vcpu = vcpu_of_se(cpu->rq.members[i]);
		/* Mostly none of the three: one test for all, as this runs on every pass. */
		if (!(vcpu->se.miss_signal | vcpu->io_answered) && !vcpu->vtimer)
			continue;
		if (vcpu->se.miss_signal) {
			vcpu->se.miss_signal = false;
			virq_raise(&vcpu->virq, OVM_VIRQ_DEADLINE_MISS);
		}
		if (vcpu->vtimer && vcpu->vtimer <= now) {
			vcpu->vtimer = 0;
			virq_raise(&vcpu->virq, OVM_VIRQ_TIMER);
		}
		if (vcpu->io_answered) {
			vcpu->io_answered = false;
			virq_raise(&vcpu->virq, OVM_VIRQ_IO);
		}
	}
}

static u64 earliest(u64 a, u64 b)
{
	return a < b ? a : b;
}

/* The first tick after `now`, in one division however far the clock went, and none
 * in the usual case of a tick just passed. */
static void advance_tick(struct cpu *cpu, u64 now)
{
	if (cpu->next_tick > now)
		return;
	u64 late = now - cpu->next_tick;
	cpu->next_tick += late < cpu->tick ? cpu->tick : (late / cpu->tick + 1) * cpu->tick;
}

/*
 * Deliver the vCPU's pending virtual interrupt if its guest takes one now.
 * True if one still waits and OVM must look again later: a supervisor-mode
 * guest with IRQs masked unmasks them without a word to OVM, a user-mode one
 * in a Thumb IT block leaves it by itself (a user-mode guest that masks them
 * calls in when it unmasks).
 */
static bool deliver(struct vcpu *vcpu)
{
	if (!virq_any_pending(&vcpu->virq))
		return false;
	if (!arch_guest_irqs_masked(&vcpu->regs, &vcpu->upcall)) {
		arch_inject_irq(&vcpu->regs, &vcpu->upcall);
		return false;
	}
	return !arch_irq_wait(&vcpu->regs, &vcpu->upcall);
}

/*
 * Ticking, the paper's way: OVM looks at its queues every tick, so releases,
 * deadlines and virtual timers are seen at tick granularity. Tickless: the
 * timer is set for exactly the next of those events.
 */
static u64 next_event(struct cpu *cpu, u64 now)
{
	if (cpu->tick) {
		advance_tick(cpu, now);
		return earliest(cpu->next_tick, sched_budget_event(&cpu->rq));
	}
	/* Console work already due makes the timer's setting fail: the exit path serves it
	 * and looks again. */
	u64 next = earliest(sched_next_event(&cpu->rq), console_next());
	for (u32 i = 0; i < cpu->rq.attached; i++) {
		struct vcpu *vcpu = vcpu_of_se(cpu->rq.members[i]);
		if (vcpu->vtimer)
			next = earliest(next, vcpu->vtimer);
	}
	return next;
}

/*
 * Program the core's next event; false if it is already due. A comparator
 * written after its time has passed never fires, and at QEMU's icount rate
 * the few instructions of programming it can be enough to pass it. A time
 * passed after the write is fine: the comparator matched, its interrupt is
 * pending (under icount, writing the comparator can hand the emulator to the
 * other core until exactly that time).
 */
static bool set_event(struct cpu *cpu, u64 when)
{
	if (when != cpu->event_at) {
		cpu->event_at = when;
		arch_event_timer_set(when);
	}
	if (arch_now() < when || arch_event_timer_fired())
		return true;
	cpu->event_at = SCHED_NEVER;
	return false;
}

/* The vCPU to run, and in *picked_at the time it was picked at. */
static struct vcpu *pick(struct cpu *cpu, u64 *picked_at)
{
	for (;;) {
		u64 now = arch_now();
		sched_update(&cpu->rq, now);
		signal_misses_and_timers(cpu, now);
		struct sched_entity *se = sched_pick(&cpu->rq, now);
		if (se) {
			*picked_at = now;
			return vcpu_of_se(se);
		}
		/* Before the timer is set: serving may leave output due later. */
		console_service(now);
		bool wait = set_event(cpu, next_event(cpu, arch_now()));
		/* Other cores may answer a blocked vCPU meanwhile: not while holding the queues. */
		spin_unlock(&cpu->lock);
		if (wait)
			arch_wait_for_interrupt();
		arch_irq_poll();
		spin_lock(&cpu->lock);
	}
}

/* A core OVM does not schedule on: its one vCPU again, unless OVM halted it. */
static struct arch_regs *exit_unscheduled(struct cpu *cpu)
{
	struct vcpu *vcpu = cpu->current;

	while (vcpu->halted)
		arch_wait_for_interrupt();
	/* Its own calls are what feeds the console its lines when no other core ticks. */
	console_service(arch_now());
	deliver(vcpu);
	return &vcpu->regs;
}

/* Whether the vCPU picked to run has an interrupt waiting that OVM must look at again. */
static bool must_look_again(struct vcpu *vcpu)
{
	return virq_any_pending(&vcpu->virq) &&
	       arch_guest_irqs_masked(&vcpu->regs, &vcpu->upcall) &&
	       !arch_irq_wait(&vcpu->regs, &vcpu->upcall);
}

/* The core's next event once `next` is picked: a masked interrupt it has waiting
 * brings it forward. */
static u64 event_after_pick(struct cpu *cpu, struct vcpu *next, u64 now)
{
	u64 event = next_event(cpu, now);

	if (must_look_again(next))
		event = earliest(event, now + arch_us_to_ticks(REDELIVERY_US));
	return event;
}

struct arch_regs *core_exit(void)
{
	struct cpu *cpu = this_cpu();

	if (!cpu->ticking)
		return exit_unscheduled(cpu);

	spin_lock(&cpu->lock);
	struct vcpu *next;
	u64 event;
	do {
		u64 now = arch_now();
		console_service(now);
		/* The events are taken from when it picked: set_event reads the clock again. */
		next = pick(cpu, &now);
		event = event_after_pick(cpu, next, now);
	} while (!set_event(cpu, event));
	if (next != cpu->current)
		switch_to(cpu, next);
	deliver(next);
	spin_unlock(&cpu->lock);
	return &next->regs;
}

/*
 * vm_exit's fast path: an SRT job that ends on time, with nothing else due on
 * the core, is the scheduler's quick case (sched_job_done_pick), and of the
 * exit's work only what that leaves due is done. False, with nothing changed,
 * in every other case: the caller takes the full pass.
 */
bool core_vm_exit_fast(struct vcpu *vcpu)
{
	struct cpu *cpu = this_cpu();

	if (!cpu->ticking || cpu->resched || cpu->current != vcpu)
		return false;
	spin_lock(&cpu->lock);
	u64 now = arch_now();
	struct sched_entity *se = sched_job_done_pick(&cpu->rq, &vcpu->se, now);
	if (!se) {
		spin_unlock(&cpu->lock);
		return false;
	}
	struct vcpu *next = vcpu_of_se(se);
	signal_misses_and_timers(cpu, now);
	/* Due already: the full pass, which now starts from the job done, takes over. */
	if (set_event(cpu, event_after_pick(cpu, next, now)))
		switch_to(cpu, next);
	else
		cpu->resched = true;
	spin_unlock(&cpu->lock);
	return true;
}

/*
 * Most hypercalls change nothing the scheduler looks at: their caller goes on
 * at once, without the scheduler's pass (releases, deadlines and slice ends
 * come as timer events anyway). A call that blocked, yielded, declared
 * parameters or set a timer asked for that pass with core_kick.
 */
struct arch_regs *core_exit_hypercall(struct cpu *cpu)
{
	struct vcpu *vcpu = cpu->current;

	if (!cpu->ticking)
		return exit_unscheduled(cpu);
	/* Output it leaves due later asks for the full pass, which sets the timer for it.
	 * With none waiting, the clock need not be read for it. */
	if (console_next() != SCHED_NEVER)
		console_service(arch_now());
	/* A pending interrupt the guest masks: the full pass arms its redelivery. */
	if (!cpu->resched && !deliver(vcpu))
		return &vcpu->regs;
	cpu->resched = false;
	return core_exit();
}

u64 core_release_time(struct cpu *cpu)
{
	u64 now = arch_now();

	/* With a tick, a job released between ticks would only be seen at the next one:
	 * start periods on the tick grid so that none loses part of its window. */
	if (!cpu->tick)
		return now;
	advance_tick(cpu, now);
	return cpu->next_tick;
}

/* The scenario's reservations, admitted as if each SRT guest had declared them. */
static void reserve(struct cpu *cpu)
{
	for (u32 i = 0; i < cpu->rq.attached; i++) {
		struct vcpu *vcpu = vcpu_of_se(cpu->rq.members[i]);
		const struct rt_params *rt = &vcpu->vm->config->rt;
		/* A VM registered while the core waited was admitted then. */
		if (vcpu->se.level != LEVEL_SRT || !rt->period_us || vcpu->se.periodic)
			continue;
		enum sched_status status = sched_set_realtime(
			&cpu->rq, &vcpu->se, core_release_time(cpu), arch_us_to_ticks(rt->deadline_us),
			arch_us_to_ticks(rt->period_us), arch_us_to_ticks(rt->budget_us));
		if (status != SCHED_OK)
			console_printf("[ovm] core%u: %s: reservation %u/%u/%u us refused (%d)\n",
				       cpu->rq.core, vcpu->vm->config->name, rt->deadline_us,
				       rt->period_us, rt->budget_us, status);
	}
}

/* A core with nothing configured sleeps until `register` gives it a vCPU (and kicks it). */
static void wait_for_first_vcpu(struct cpu *cpu)
{
	arch_event_timer_init();
	cpu->idle = true;
	for (;;) {
		spin_lock(&cpu->lock);
		bool attached = cpu->rq.attached != 0;
		spin_unlock(&cpu->lock);
		if (attached)
			break;
		console_service(arch_now());
		u64 next = console_next();
		if (next != SCHED_NEVER)
			arch_event_timer_set(next);
		if (next == SCHED_NEVER || arch_now() < next)
			arch_wait_for_interrupt();
		arch_irq_poll();
	}
	cpu->idle = false;
}

/* First entry on a core: an HRT core is handed over for good; the others start ticking. */
__attribute__((noreturn)) void core_start(u32 core)
{
	struct cpu *cpu = &cpus[core];
	struct runqueue *rq = &cpu->rq;

	arch_kick_init();
	if (!rq->attached) {
		console_printf("[ovm] core%u: no vCPU configured, idle until one is registered\n",
			       core);
		wait_for_first_vcpu(cpu);
	}
	spin_lock(&cpu->lock);
	irq_routes_init(core);
	if (rq->level == LEVEL_HRT) {
		struct vcpu *vcpu = vcpu_of_se(rq->members[0]);
		switch_to(cpu, vcpu);
		spin_unlock(&cpu->lock);
		console_printf("[ovm] core%u: handed over to HRT %s vcpu%u, no OVM tick on this core\n",
			       core, vcpu->vm->config->name, vcpu->id);
		arch_enter_guest(&vcpu->regs);
	}
	cpu->ticking = true;
	cpu->tick = arch_us_to_ticks(sched_config.tick_us);
	cpu->next_tick = arch_now() + cpu->tick;
	cpu->event_at = SCHED_NEVER;
	reserve(cpu);
	arch_event_timer_init();
	struct vcpu *first;
	u64 now;
	do
		first = pick(cpu, &now);
	while (!set_event(cpu, next_event(cpu, now)));
	switch_to(cpu, first);
	spin_unlock(&cpu->lock);
	console_printf("[ovm] core%u: scheduling %u vCPU(s), %s, first %s vcpu%u\n", core,
		       rq->attached, cpu->tick ? "periodic tick" : "tickless", first->vm->config->name,
		       first->id);
	arch_enter_guest(&first->regs);
}
