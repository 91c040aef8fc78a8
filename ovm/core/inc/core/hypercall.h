#ifndef CORE_HYPERCALL_H
#define CORE_HYPERCALL_H

#include <core/vm.h>

/* The hypercall in the vCPU's r0-r3: its handler's results go back there. */
void hypercall_dispatch(struct vcpu *vcpu);
/* At boot, and after `register` built VM `vm`'s tables: what HC_SELF_CHECK compares with. */
void self_check_record(void);
void self_check_record_vm(u32 vm);
/* HC_SELF_CHECK: chunk `chunk` compared with boot; *intact = 1 if it is unchanged, *chunks =
 * their number. An OVM status. */
s32 self_check(u32 chunk, u32 *intact, u32 *chunks);

#endif
