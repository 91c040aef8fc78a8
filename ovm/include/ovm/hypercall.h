/*
 * OVM's hypercall ABI, shared by OVM and paravirtual guests.
 * A guest issues `smc #0` with r0 = index into OVM's handler table and
 * arguments in r1-r3; OVM returns a status in r0 (OVM_OK or a negative
 * error) and results in r1-r3. Every other register is preserved.
 */
#ifndef OVM_HYPERCALL_H
#define OVM_HYPERCALL_H

#define OVM_ABI_VERSION 1

enum ovm_hypercall {
	/* r1 = value; returns r1 = value + 1 and r2 = OVM_ABI_VERSION. */
	HC_PING = 0,
	/* r1 = address, r2 = length (at most HC_CONSOLE_MAX) of text in the caller's memory. */
	HC_CONSOLE_WRITE = 1,
	/* Returns r1 = VM id, r2 = vCPU id within the VM, r3 = physical core. */
	HC_VCPU_INFO = 2,
	HC_COUNT
};

#define HC_CONSOLE_MAX 256

enum ovm_status {
	OVM_OK = 0,
	/* No hypercall has that index. */
	OVM_E_NOSYS = -1,
	/* The caller may not make that hypercall (host-only). */
	OVM_E_PERM = -2,
	/* An argument is out of its range. */
	OVM_E_INVAL = -3,
	/* An address range lies outside the caller's memory grant. */
	OVM_E_FAULT = -4,
};

#endif
