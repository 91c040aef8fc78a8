/*
 * The walking skeleton's guest: proves the world switch both ways on its
 * core (non-secure -> SMC -> monitor -> back) and that OVM refuses bad calls.
 */
#include "guest.h"

#define ROUND_TRIPS 3

void guest_main(u32 vcpu_id, u32 vcpu_count)
{
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

	struct hc_result bad_index = hypercall(0x7fffffff, 0, 0, 0);
	struct hc_result bad_addr = hypercall(HC_CONSOLE_WRITE, 0x0, 16, 0);
	struct hc_result too_long = hypercall(HC_CONSOLE_WRITE, (u32)(uintptr_t)&info, 100000, 0);
	gprintf("core %u: bad index -> %d, out-of-grant address -> %d, oversized write -> %d\n",
		core, bad_index.status, bad_addr.status, too_long.status);
}
