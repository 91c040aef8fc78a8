/*
 * Boot: the first core sets up what all share, releases the others, and once
 * every core has checked in prints the banner; then each core enters its
 * guest in the non-secure world.
 */
#include <arch/arch.h>
#include <arch/cpu.h>
#include <core/config.h>
#include <core/console.h>
#include <core/vm.h>
#include <drivers/trustzone.h>

#define OVM_VERSION "0.2.0"
/* Generous for a core that is alive; a dead one must not stop the banner. */
#define CHECK_IN_SPINS 1000000u

static volatile u32 cores_up;
static volatile u32 guests_go;

__attribute__((noreturn)) void ovm_boot_primary(u32 core)
{
	arch_platform_init();
	arch_time_init();
	arch_cpu_init(core);
	console_init();
	console_printf("\n[ovm] OVM %s booting on %s, scenario %s\n", OVM_VERSION, board.name,
		       ovm_scenario_name);
	/* Before vms_create: no guest memory is prepared, and no guest runs, unpartitioned. */
	trustzone_init();
	vms_create();
	cores_up = 1;
	arch_release_secondaries();
	for (u32 spins = 0; cores_up < board.cores && spins < CHECK_IN_SPINS; spins++)
		cpu_relax();
	console_printf("OVM %s board=%s scenario=%s build=%s cores=%u/%u\n", OVM_VERSION, board.name,
		       ovm_scenario_name, ovm_build_id, cores_up, board.cores);
	guests_go = 1;
	dsb();
	sev();
	core_start(core);
}

__attribute__((noreturn)) void ovm_boot_secondary(u32 core)
{
	arch_cpu_init(core);
	__atomic_add_fetch(&cores_up, 1, __ATOMIC_SEQ_CST);
	while (!guests_go)
		wfe();
	core_start(core);
}
