/*
 * The OVM module's I/O device, /dev/ovm-io, shared by the module and the daemon
 * that emulates NRT guests' devices (ovm-hostd). One request per read(), one answer
 * per write(), each exactly the size of its struct.
 *
 * read() blocks until a request is queued (O_NONBLOCK: EAGAIN), woken by OVM's
 * doorbell interrupt. A request taken and not answered when its file is closed
 * (the daemon died) goes back to the front of the queue with the same ticket, so
 * the next reader serves it: no request is lost, and a device whose writes are not
 * idempotent recognises a request it already applied by its ticket.
 */
#ifndef OVM_LINUX_IO_H
#define OVM_LINUX_IO_H

struct ovm_io_request {
	/* 1, 2, ...: the module's number for this request, kept when it is handed out again. */
	unsigned int ticket;
	/* A global vCPU index (as in /proc/ovm), | OVM_IO_REQ_WRITE for a write. */
	unsigned int vcpu;
	unsigned int addr;
	/* The value written; 0 for a read. */
	unsigned int value;
};

struct ovm_io_answer {
	unsigned int ticket;
	/* The value read (ignored for a write). */
	unsigned int result;
	/* What the guest's input/output returns: OVM_OK or a negative OVM_E_*. */
	int status;
};

#define OVM_IO_DEVICE "/dev/ovm-io"

#endif
