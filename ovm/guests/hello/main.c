/*
 * The walking skeleton's guest: proves the world switch both ways on its
 * core (non-secure -> SMC -> monitor -> back), that OVM refuses bad calls,
 * and that OVM's timer events reach the monitor while it runs.
 */
#include "guest.h"
#include "records.h"

#define ROUND_TRIPS 3
#define TIMER_EVENTS 100

void guest_main(u32 vcpu_id, u32 vcpu_count, u32 arg0, u32 arg1)
{
	(void)arg0;
	(void)arg1;
	struct hc_result info = hypercall(HC_VCPU_INFO, 0, 0, 0);
	u32 core = info.r3;

	gprintf("vcpu%u of %u running non-secure on core %u\n", vcpu_id, vcpu_count, core);

	u32 ok = 0;
	for (u32 i = 0; i < ROUND_TRIPS; i++) {
		struct hc_result r = hypercall(HC_PING, 1000 + i, 0, 0);
		if (r.status == OVM_OK && r.r1 == 1001 + i && r.r2 == OVM_ABI_VERSION)
			ok++;
	}
	gprintf("core %u: smc round trip %u/%u ok\n", core, ok, ROUND_TRIPS);
	const struct record_value trips[] = {
		{ "core", (s32)core }, { "ok", (s32)ok }, { "n", ROUND_TRIPS },
	};
	record_values("smc_round_trips", trips, ARRAY_SIZE(trips));

	struct hc_result bad_index = hypercall(0x7fffffff, 0, 0, 0);
	struct hc_result bad_addr = hypercall(HC_CONSOLE_WRITE, 0x0, 16, 0);
	struct hc_result too_long = hypercall(HC_CONSOLE_WRITE, (u32)(uintptr_t)&info, 100000, 0);
	gprintf("core %u: bad index -> %d, out-of-grant address -> %d, oversized write -> %d\n",
		core, bad_index.status, bad_addr.status, too_long.status);
	const struct record_value refused[] = {
		{ "core", (s32)core },
		{ "bad_index", bad_index.status },
		{ "out_of_grant", bad_addr.status },
		{ "oversized", too_long.status },
	};
	record_values("bad_hypercalls", refused, ARRAY_SIZE(refused));

	/* Memory separation: its own memory reads; OVM's area below it and page 0 do not. */
	extern char _start[];
	u32 own = (u32)(uintptr_t)_start, value;
	bool own_ok = guest_probe_read(own, &value);
	bool below_ok = guest_probe_read(own - 0x100000, &value);
	bool zero_ok = guest_probe_read(0, &value);
	gprintf("core %u: memory probe: own %s, 1 MiB below %s, address 0 %s\n", core,
		own_ok ? "mapped" : "FAULT", below_ok ? "mapped" : "fault", zero_ok ? "mapped" : "fault");
	/* 1: the read succeeded (mapped), 0: it faulted. */
	const struct record_value mapped[] = {
		{ "core", (s32)core }, { "own", own_ok }, { "below", below_ok }, { "zero", zero_ok },
	};
	record_values("memory_probe", mapped, ARRAY_SIZE(mapped));

	u32 fiqs;
	do {
		wait_for_interrupt();
		fiqs = hypercall(HC_CORE_STATS, core, 0, 0).r2;
	} while (fiqs < TIMER_EVENTS);
	gprintf("core %u: %u OVM timer events taken in monitor mode while this guest ran\n", core,
		TIMER_EVENTS);
	const struct record_value events[] = { { "core", (s32)core }, { "at_least", TIMER_EVENTS } };
	record_values("timer_events", events, ARRAY_SIZE(events));
}
