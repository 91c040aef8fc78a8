/*
 * What the guests' assembly needs of the hypercall ABI (ovm/include/ovm/hypercall.h,
 * which is C): the struct ovm_vcpu_area offsets and two hypercall numbers.
 * runtime.c checks them against the header at compile time.
 */
#ifndef GUEST_UPCALL_H
#define GUEST_UPCALL_H

#define AREA_MASKED 0
#define AREA_PENDING 4
#define AREA_PC 8
#define AREA_CPSR 12
#define AREA_FAULT_PC 20
#define AREA_FAULT_CPSR 24
#define AREA_SIZE 36
#define HC_UPCALL_SETUP_NR 17
#define HC_IRQ_RESUME_NR 18
/* vCPUs one VM may have: one area each. */
#define GUEST_MAX_VCPUS 4

#endif
