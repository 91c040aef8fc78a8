/*
 * ovm-hostd: the Linux host's daemon that emulates the host device (OVM_IO_HOSTDEV)
 * for NRT guests, as the bare-metal host guest does: ID reads OVM_HOSTDEV_MAGIC,
 * SCRATCH keeps what is written, ACCUM adds what is written, per requesting vCPU;
 * anything else is refused (OVM_E_PERM for a write to ID, OVM_E_NODEV otherwise).
 *
 * It blocks in read() on /dev/ovm-io (the OVM module wakes it by OVM's doorbell)
 * and answers each request with write(). The device's registers live in a file
 * mapped shared (--state), so a daemon that is killed and started again carries
 * on where the last one stopped; a request the dead daemon had taken comes back
 * from the module with its ticket, and an ACCUM write already applied under that
 * ticket is answered without being added twice.
 *
 * usage: ovm-hostd [--state FILE] [--exit-after-take N | --exit-after-apply N]
 * The two --exit options end the daemon, as a kill would, right after taking (or
 * applying) its Nth request and before answering it: the tests' way of killing it
 * at the worst moment.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ovm/hypercall.h>
#include "ovm_io.h"

#define STATE_MAGIC 0x31445348u /* "HSD1" */
#define DEFAULT_STATE "/tmp/ovm-hostd.state"

/* ACCUM's value and the ticket of the write that made it, stored by one strd: a
 * daemon killed at any instruction leaves both or neither. */
struct accum {
	uint32_t value;
	uint32_t ticket;
} __attribute__((aligned(8)));

struct device_state {
	uint32_t magic;
	uint32_t scratch[OVM_INFO_MAX_VCPUS];
	struct accum accum[OVM_INFO_MAX_VCPUS];
};

static struct device_state *state;

static struct device_state *map_state(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	struct device_state *mapped;

	if (fd < 0 || ftruncate(fd, sizeof(*mapped)) < 0) {
		fprintf(stderr, "ovm-hostd: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	mapped = mmap(NULL, sizeof(*mapped), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (mapped == MAP_FAILED) {
		fprintf(stderr, "ovm-hostd: mmap %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (mapped->magic != STATE_MAGIC) {
		memset(mapped, 0, sizeof(*mapped));
		mapped->magic = STATE_MAGIC;
	}
	return mapped;
}

/* Serve one request; applied tells the caller that a write changed the device. */
static struct ovm_io_answer serve(const struct ovm_io_request *req, int *applied)
{
	uint32_t vcpu = req->vcpu & ~OVM_IO_REQ_WRITE;
	int write = (req->vcpu & OVM_IO_REQ_WRITE) != 0;
	struct ovm_io_answer answer = { .ticket = req->ticket, .result = 0, .status = OVM_OK };

	*applied = 0;
	if (vcpu >= OVM_INFO_MAX_VCPUS) {
		answer.status = OVM_E_NODEV;
	} else if (req->addr == OVM_IO_HOSTDEV + OVM_HOSTDEV_ID) {
		if (write)
			answer.status = OVM_E_PERM;
		else
			answer.result = OVM_HOSTDEV_MAGIC;
	} else if (req->addr == OVM_IO_HOSTDEV + OVM_HOSTDEV_SCRATCH) {
		if (write)
			state->scratch[vcpu] = req->value;
		else
			answer.result = state->scratch[vcpu];
		*applied = write;
	} else if (req->addr == OVM_IO_HOSTDEV + OVM_HOSTDEV_ACCUM) {
		struct accum *accum = &state->accum[vcpu];
		if (write && accum->ticket != req->ticket) {
			*(volatile struct accum *)accum =
				(struct accum){ accum->value + req->value, req->ticket };
			*applied = 1;
		} else if (!write) {
			answer.result = accum->value;
		}
	} else {
		answer.status = OVM_E_NODEV;
	}
	return answer;
}

static unsigned long number(const char *text, const char *option)
{
	char *end;
	unsigned long n = strtoul(text ? text : "", &end, 0);

	if (!text || !*text || *end || n == 0) {
		fprintf(stderr, "ovm-hostd: %s wants a positive number\n", option);
		exit(2);
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *state_path = DEFAULT_STATE;
	unsigned long exit_after_take = 0, exit_after_apply = 0, taken = 0, applied_count = 0;
	int fd;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--state") && i + 1 < argc) {
			state_path = argv[++i];
		} else if (!strcmp(argv[i], "--exit-after-take")) {
			exit_after_take = number(argv[i + 1], argv[i]);
			i++;
		} else if (!strcmp(argv[i], "--exit-after-apply")) {
			exit_after_apply = number(argv[i + 1], argv[i]);
			i++;
		} else {
			fprintf(stderr, "usage: ovm-hostd [--state FILE] [--exit-after-take N | "
					"--exit-after-apply N]\n");
			return 2;
		}
	}
	state = map_state(state_path);
	fd = open(OVM_IO_DEVICE, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "ovm-hostd: %s: %s (is the ovm module loaded?)\n", OVM_IO_DEVICE,
			strerror(errno));
		return 1;
	}
	printf("ovm-hostd: ready, pid %d, state %s\n", (int)getpid(), state_path);
	fflush(stdout);
	for (;;) {
		struct ovm_io_request req;
		struct ovm_io_answer answer;
		ssize_t n = read(fd, &req, sizeof(req));
		int applied;

		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(req)) {
			fprintf(stderr, "ovm-hostd: read %s: %s\n", OVM_IO_DEVICE,
				n < 0 ? strerror(errno) : "short request");
			return 1;
		}
		if (++taken == exit_after_take)
			_exit(3);
		answer = serve(&req, &applied);
		if (applied && ++applied_count == exit_after_apply)
			_exit(3);
		if (write(fd, &answer, sizeof(answer)) != sizeof(answer))
			fprintf(stderr, "ovm-hostd: answer to ticket %u (vcpu %u): %s\n", req.ticket,
				req.vcpu & ~OVM_IO_REQ_WRITE, strerror(errno));
	}
}
