/*
 * I/O virtualization by level: OVM's own device functions (OVM proxy) for SRT
 * guests and the host, a request queue to the host (host proxy) for NRT
 * guests. HRT guests touch their passed-through devices directly and never
 * come here.
 */
#ifndef CORE_IO_H
#define CORE_IO_H

#include <core/vm.h>
#include <lib/types.h>

/* io_access's answer when the request went to the host: the vCPU is blocked. */
#define IO_BLOCKED 1

/* HC_INPUT / HC_OUTPUT for `vcpu`: an OVM status (the value read in *result), or IO_BLOCKED. */
s32 io_access(struct vcpu *vcpu, u32 addr, bool write, u32 value, u32 *result);
/* HC_READ_IO: the oldest queued request, now the host's. OVM_E_AGAIN if none. */
s32 io_take_request(u32 *vcpu_and_kind, u32 *addr, u32 *value);
/* HC_WRITE_IO: answer the request the host took from vCPU `index`. */
s32 io_answer(u32 index, u32 result, u32 status);

#endif
