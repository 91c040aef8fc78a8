// SPDX-License-Identifier: GPL-2.0
/*
 * OVM's host interface for a Linux host VM: /proc/ovm and /dev/ovm-io.
 *
 * Linux runs in OVM's non-secure world in supervisor mode; this module calls OVM
 * by `smc #0` with OVM's hypercall ABI (ovm/include/ovm/hypercall.h): r0 = the
 * hypercall, r1-r3 its arguments, OVM's status back in r0. Addresses handed to
 * OVM are physical (OVM checks them against the VM's region); the buffers are
 * kmalloc'd, so physically contiguous.
 *
 * /proc/ovm (root only)
 *   read:  OVM's `info` as text, one record per line, each `<kind> key=value ...`:
 *            ovm abi=<n> vms=<n> vcpus=<n> cores=<n>
 *            vm id= name= level=HRT|SRT|NRT cores=0x mem=0x<base>+0x<size> vcpus= io=0x registered=0|1
 *            vcpu index= vm= id= core= state=<running|runnable|waiting|blocked|throttled|halted>
 *                 jobs= misses= overruns= deadline_us= period_us= budget_us=
 *            core index= level= ticking= run_queue= wait_queue= smc= fiq= irq=
 *            io taken= served= writes= errors= requeued= doorbells=
 *            register last=none | last=ok vm=<id> | last=error <OVM_E_*|syntax <key>>
 *          the vm and vcpu records are the bare-metal host's `info` lines.
 *   write: one line `register key=value ...` with the bare-metal host's keys (name guest
 *          level cores mem rt=d/p/b args=a[,b] io). OVM decides; a refusal fails write()
 *          with OVM's status as an errno and changes nothing:
 *            OVM_E_NOSYS ENOSYS, OVM_E_PERM EPERM, OVM_E_INVAL EINVAL, OVM_E_FAULT EFAULT,
 *            OVM_E_OVERLOAD ENOSPC, OVM_E_AGAIN EAGAIN, OVM_E_NOENT ENOENT,
 *            OVM_E_BUSY EBUSY, OVM_E_NODEV ENODEV;
 *          a line the module cannot parse (unknown key or command, bad number): EINVAL
 *          without asking OVM. The `register last=` record names which it was.
 *
 * /dev/ovm-io: NRT guests' host-proxied I/O for a user-space daemon (ovm_io.h).
 *   The doorbell, an interrupt OVM pends when it queues a request (the device tree's
 *   node compatible "ovm,doorbell"), wakes readers: nothing polls.
 */
#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/fs.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/of.h>
#include <linux/platform_device.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include <ovm/hypercall.h>
#include "ovm_io.h"

#define LINE_MAX 256
#define MAX_WORDS 16
#define MAX_TAKEN OVM_INFO_MAX_VCPUS

struct hc_result {
	s32 status;
	u32 r1, r2, r3;
};

/* OVM preserves every register but r0-r3. */
static struct hc_result ovm_call(u32 index, u32 a1, u32 a2, u32 a3)
{
	register u32 r0 asm("r0") = index;
	register u32 r1 asm("r1") = a1;
	register u32 r2 asm("r2") = a2;
	register u32 r3 asm("r3") = a3;

	asm volatile(".arch_extension sec\n\tsmc #0"
		     : "+r"(r0), "+r"(r1), "+r"(r2), "+r"(r3)
		     :
		     : "memory");
	return (struct hc_result){ .status = (s32)r0, .r1 = r1, .r2 = r2, .r3 = r3 };
}

static const char *const status_names[] = {
	"OVM_OK",	  "OVM_E_NOSYS", "OVM_E_PERM",  "OVM_E_INVAL", "OVM_E_FAULT",
	"OVM_E_OVERLOAD", "OVM_E_AGAIN", "OVM_E_NOENT", "OVM_E_BUSY",  "OVM_E_NODEV",
};
static const int status_errnos[] = {
	0, ENOSYS, EPERM, EINVAL, EFAULT, ENOSPC, EAGAIN, ENOENT, EBUSY, ENODEV,
};

static bool known_status(s32 status)
{
	return status <= 0 && -status < (s32)ARRAY_SIZE(status_names);
}

static const char *status_name(s32 status)
{
	return known_status(status) ? status_names[-status] : "unknown";
}

/* OVM's status as a negative errno (EIO for a status this module does not know). */
static int status_errno(s32 status)
{
	return known_status(status) ? -status_errnos[-status] : -EIO;
}

/* --- /proc/ovm --------------------------------------------------------------------- */

static const char *const level_names[] = { "HRT", "SRT", "NRT" };
static const char *const state_names[] = { "running", "runnable", "waiting",
					   "blocked", "throttled", "halted" };

/* Guards info, request and last_register. */
static DEFINE_MUTEX(ovm_lock);
static struct ovm_info *info;
static struct ovm_vm_request *request;
static char last_register[64] = "none";

/* I/O counters, for /proc/ovm's io record. */
static atomic_t doorbells = ATOMIC_INIT(0);
static atomic_t served = ATOMIC_INIT(0);
static atomic_t writes = ATOMIC_INIT(0);
static atomic_t errors = ATOMIC_INIT(0);
static atomic_t requeued = ATOMIC_INIT(0);
static u32 next_ticket;

static void show_level(struct seq_file *m, u32 level)
{
	if (level < ARRAY_SIZE(level_names))
		seq_printf(m, "level=%s", level_names[level]);
	else
		seq_printf(m, "level=%u", level);
}

static int ovm_show(struct seq_file *m, void *unused)
{
	struct hc_result r;
	u32 i, vm_count, vcpu_count, core_count;

	mutex_lock(&ovm_lock);
	r = ovm_call(HC_INFO, (u32)virt_to_phys(info), sizeof(*info), 0);
	if (r.status != OVM_OK) {
		mutex_unlock(&ovm_lock);
		pr_warn("ovm: info refused: %s (%d)\n", status_name(r.status), r.status);
		return status_errno(r.status);
	}
	vm_count = min_t(u32, info->vm_count, OVM_INFO_MAX_VMS);
	vcpu_count = min_t(u32, info->vcpu_count, OVM_INFO_MAX_VCPUS);
	core_count = min_t(u32, info->core_count, OVM_INFO_MAX_CORES);
	seq_printf(m, "ovm abi=%u vms=%u vcpus=%u cores=%u\n", info->abi_version, info->vm_count,
		   info->vcpu_count, info->core_count);
	for (i = 0; i < vm_count; i++) {
		const struct ovm_info_vm *vm = &info->vms[i];

		seq_printf(m, "vm id=%u name=%.*s ", vm->id, OVM_NAME_SIZE, vm->name);
		show_level(m, vm->level);
		seq_printf(m, " cores=0x%x mem=0x%x+0x%x vcpus=%u io=0x%x registered=%u\n",
			   vm->core_mask, vm->mem_base, vm->mem_size, vm->vcpus, vm->io,
			   vm->registered);
	}
	for (i = 0; i < vcpu_count; i++) {
		const struct ovm_info_vcpu *v = &info->vcpus[i];

		seq_printf(m, "vcpu index=%u vm=%u id=%u core=%u ", i, v->vm, v->id, v->core);
		if (v->state < ARRAY_SIZE(state_names))
			seq_printf(m, "state=%s", state_names[v->state]);
		else
			seq_printf(m, "state=%u", v->state);
		seq_printf(m, " jobs=%u misses=%u overruns=%u deadline_us=%u period_us=%u "
			   "budget_us=%u\n", v->jobs_done, v->misses, v->overruns, v->deadline_us,
			   v->period_us, v->budget_us);
	}
	for (i = 0; i < core_count; i++) {
		const struct ovm_info_core *c = &info->cores[i];

		seq_printf(m, "core index=%u ", i);
		show_level(m, c->level);
		seq_printf(m, " ticking=%u run_queue=%u wait_queue=%u smc=%u fiq=%u irq=%u\n",
			   c->ticking, c->run_queue, c->wait_queue, c->entries_smc,
			   c->entries_fiq, c->entries_irq);
	}
	seq_printf(m, "io taken=%u served=%d writes=%d errors=%d requeued=%d doorbells=%d\n",
		   READ_ONCE(next_ticket), atomic_read(&served), atomic_read(&writes),
		   atomic_read(&errors), atomic_read(&requeued), atomic_read(&doorbells));
	seq_printf(m, "register last=%s\n", last_register);
	mutex_unlock(&ovm_lock);
	return 0;
}

static int ovm_open(struct inode *inode, struct file *file)
{
	return single_open(file, ovm_show, NULL);
}

/* Split at spaces and tabs in place; MAX_WORDS + 1 when there are more. */
static u32 split_words(char *line, char **words)
{
	u32 n = 0;

	while (*line) {
		while (*line == ' ' || *line == '\t')
			*line++ = '\0';
		if (!*line)
			break;
		if (n == MAX_WORDS)
			return MAX_WORDS + 1;
		words[n++] = line;
		while (*line && *line != ' ' && *line != '\t')
			line++;
	}
	return n;
}

/* A 32-bit number, decimal or 0x; a leading '-' gives its two's complement (OVM judges). */
static bool parse_u32(const char *text, u32 *value)
{
	bool negative = *text == '-';
	u32 v;

	if (kstrtou32(text + negative, 0, &v))
		return false;
	*value = negative ? -v : v;
	return true;
}

/* `count` numbers (at least `min`) separated by `sep`, into values. */
static bool parse_list(char *text, char sep, u32 min, u32 count, u32 *values)
{
	u32 n = 0;
	char *item;

	while ((item = strsep(&text, (char[]){ sep, '\0' }))) {
		if (n == count || !parse_u32(item, &values[n]))
			return false;
		n++;
	}
	return n >= min;
}

static bool parse_level(const char *text, u32 *level)
{
	u32 i;

	for (i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (!strcmp(text, level_names[i])) {
			*level = i;
			return true;
		}
	}
	return parse_u32(text, level);
}

/* As the bare-metal host does: a name filling all OVM_NAME_SIZE bytes goes without its NUL. */
static void copy_name(char *dst, const char *src)
{
	memset(dst, 0, OVM_NAME_SIZE);
	memcpy(dst, src, min_t(size_t, strlen(src), OVM_NAME_SIZE));
}

/* Fill *request from key=value words; NULL when all parsed, else the bad word's key. */
static const char *parse_register(char **words, u32 count)
{
	u32 i, rt[3], args[2];

	memset(request, 0, sizeof(*request));
	for (i = 0; i < count; i++) {
		char *value = strchr(words[i], '=');
		bool ok = false;

		if (!value)
			return words[i];
		*value++ = '\0';
		if (!strcmp(words[i], "name")) {
			copy_name(request->name, value);
			ok = true;
		} else if (!strcmp(words[i], "guest")) {
			copy_name(request->guest, value);
			ok = true;
		} else if (!strcmp(words[i], "level")) {
			ok = parse_level(value, &request->level);
		} else if (!strcmp(words[i], "cores")) {
			ok = parse_u32(value, &request->core_mask);
		} else if (!strcmp(words[i], "mem")) {
			ok = parse_u32(value, &request->mem_size);
		} else if (!strcmp(words[i], "rt")) {
			ok = parse_list(value, '/', 3, 3, rt);
			if (ok) {
				request->deadline_us = rt[0];
				request->period_us = rt[1];
				request->budget_us = rt[2];
			}
		} else if (!strcmp(words[i], "args")) {
			args[0] = args[1] = 0;
			ok = parse_list(value, ',', 1, 2, args);
			request->args[0] = args[0];
			request->args[1] = args[1];
		} else if (!strcmp(words[i], "io")) {
			ok = parse_u32(value, &request->io);
		}
		if (!ok)
			return words[i];
	}
	return NULL;
}

static int run_register(char **words, u32 count)
{
	const char *bad = parse_register(words, count);
	struct hc_result r;

	if (bad) {
		snprintf(last_register, sizeof(last_register), "error syntax %s", bad);
		return -EINVAL;
	}
	r = ovm_call(HC_REGISTER, (u32)virt_to_phys(request), sizeof(*request), 0);
	if (r.status == OVM_OK) {
		snprintf(last_register, sizeof(last_register), "ok vm=%u", r.r1);
		pr_info("ovm: registered VM %.*s as %u\n", OVM_NAME_SIZE, request->name, r.r1);
		return 0;
	}
	snprintf(last_register, sizeof(last_register), "error %s", status_name(r.status));
	pr_info("ovm: register %.*s refused: %s (%d)\n", OVM_NAME_SIZE, request->name,
		status_name(r.status), r.status);
	return status_errno(r.status);
}

static ssize_t ovm_write(struct file *file, const char __user *buf, size_t len, loff_t *pos)
{
	char line[LINE_MAX + 1], *words[MAX_WORDS];
	u32 count;
	int err;

	if (len > LINE_MAX)
		return -EINVAL;
	if (copy_from_user(line, buf, len))
		return -EFAULT;
	line[len] = '\0';
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	if (strchr(line, '\n'))
		return -EINVAL;
	mutex_lock(&ovm_lock);
	count = split_words(line, words);
	if (count == 0 || count > MAX_WORDS || strcmp(words[0], "register")) {
		snprintf(last_register, sizeof(last_register), "error syntax %s",
			 count && count <= MAX_WORDS ? words[0] : "line");
		err = -EINVAL;
	} else {
		err = run_register(words + 1, count - 1);
	}
	mutex_unlock(&ovm_lock);
	return err ? err : (ssize_t)len;
}

static const struct proc_ops ovm_proc_ops = {
	.proc_open = ovm_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = ovm_write,
};

/* --- /dev/ovm-io --------------------------------------------------------------------- */

struct taken {
	u32 ticket; /* 0: free slot */
	u32 vcpu; /* as from HC_READ_IO: index | OVM_IO_REQ_WRITE */
	u32 addr;
	u32 value;
};

struct io_file {
	struct taken taken[MAX_TAKEN];
};

/* Guards every io_file's taken[], orphans[] and next_ticket. */
static DEFINE_SPINLOCK(io_lock);
/* Taken by a file closed before answering them, oldest ticket first. */
static struct taken orphans[MAX_TAKEN];
static u32 orphan_count;
/* Bumped by the doorbell and by a request put back: a waiting reader looks again. */
static atomic_t io_events = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(io_wait);

static struct taken *free_slot(struct io_file *f)
{
	u32 i;

	for (i = 0; i < MAX_TAKEN; i++)
		if (!f->taken[i].ticket)
			return &f->taken[i];
	return NULL;
}

/* One request for this file, from the orphans first, then from OVM: 0, or -errno. */
static int take_request(struct io_file *f, struct taken *out)
{
	struct taken *slot;
	struct hc_result r;
	int err = 0;

	spin_lock(&io_lock);
	slot = free_slot(f);
	if (!slot) {
		err = -EBUSY;
	} else if (orphan_count) {
		*slot = orphans[0];
		memmove(&orphans[0], &orphans[1], --orphan_count * sizeof(orphans[0]));
	} else {
		r = ovm_call(HC_READ_IO, 0, 0, 0);
		if (r.status == OVM_OK)
			*slot = (struct taken){ .ticket = ++next_ticket, .vcpu = r.r1,
						.addr = r.r2, .value = r.r3 };
		else
			err = status_errno(r.status);
	}
	if (!err)
		*out = *slot;
	spin_unlock(&io_lock);
	return err;
}

static ssize_t io_read(struct file *file, char __user *buf, size_t len, loff_t *pos)
{
	struct io_file *f = file->private_data;
	struct ovm_io_request req;
	struct taken t = { 0 };
	int events, err;

	if (len != sizeof(req))
		return -EINVAL;
	for (;;) {
		events = atomic_read(&io_events);
		err = take_request(f, &t);
		if (err != -EAGAIN)
			break;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (wait_event_interruptible(io_wait, atomic_read(&io_events) != events))
			return -ERESTARTSYS;
	}
	if (err)
		return err;
	req = (struct ovm_io_request){ .ticket = t.ticket, .vcpu = t.vcpu, .addr = t.addr,
				       .value = t.value };
	/* Still taken by this file: answered later, or put back when it closes. */
	if (copy_to_user(buf, &req, sizeof(req)))
		return -EFAULT;
	return sizeof(req);
}

static ssize_t io_write(struct file *file, const char __user *buf, size_t len, loff_t *pos)
{
	struct io_file *f = file->private_data;
	struct ovm_io_answer answer;
	struct taken *t = NULL;
	struct hc_result r;
	u32 i;

	if (len != sizeof(answer))
		return -EINVAL;
	if (copy_from_user(&answer, buf, sizeof(answer)))
		return -EFAULT;
	spin_lock(&io_lock);
	for (i = 0; i < MAX_TAKEN && !t; i++)
		if (answer.ticket && f->taken[i].ticket == answer.ticket)
			t = &f->taken[i];
	if (!t) {
		spin_unlock(&io_lock);
		return -ENOENT;
	}
	r = ovm_call(HC_WRITE_IO, t->vcpu & ~OVM_IO_REQ_WRITE, answer.result, (u32)answer.status);
	/* An answer OVM rejects as malformed may be given again; any other outcome ends it. */
	if (r.status != OVM_E_INVAL) {
		if (r.status == OVM_OK) {
			atomic_inc(&served);
			if (t->vcpu & OVM_IO_REQ_WRITE)
				atomic_inc(&writes);
			if (answer.status != OVM_OK)
				atomic_inc(&errors);
		}
		t->ticket = 0;
	}
	spin_unlock(&io_lock);
	return r.status == OVM_OK ? (ssize_t)len : status_errno(r.status);
}

static int io_open(struct inode *inode, struct file *file)
{
	struct io_file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	file->private_data = f;
	return 0;
}

/* Requests still taken go back, in ticket order, for the next reader. */
static int io_release(struct inode *inode, struct file *file)
{
	struct io_file *f = file->private_data;
	u32 i, at;
	bool any = false;

	spin_lock(&io_lock);
	for (i = 0; i < MAX_TAKEN; i++) {
		struct taken t = f->taken[i];

		if (!t.ticket)
			continue;
		for (at = orphan_count; at > 0 && orphans[at - 1].ticket > t.ticket; at--)
			orphans[at] = orphans[at - 1];
		orphans[at] = t;
		orphan_count++;
		atomic_inc(&requeued);
		any = true;
	}
	spin_unlock(&io_lock);
	kfree(f);
	if (any) {
		atomic_inc(&io_events);
		wake_up_interruptible(&io_wait);
	}
	return 0;
}

static const struct file_operations io_fops = {
	.owner = THIS_MODULE,
	.open = io_open,
	.read = io_read,
	.write = io_write,
	.release = io_release,
	.llseek = noop_llseek,
};

static struct miscdevice io_device = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ovm-io",
	.fops = &io_fops,
	.mode = 0600,
};

/* --- The doorbell ------------------------------------------------------------------- */

static irqreturn_t doorbell(int irq, void *unused)
{
	atomic_inc(&doorbells);
	atomic_inc(&io_events);
	wake_up_interruptible(&io_wait);
	return IRQ_HANDLED;
}

static int doorbell_probe(struct platform_device *pdev)
{
	int irq = platform_get_irq(pdev, 0);

	if (irq < 0)
		return irq;
	return devm_request_irq(&pdev->dev, irq, doorbell, 0, "ovm-doorbell", NULL);
}

static const struct of_device_id doorbell_ids[] = {
	{ .compatible = "ovm,doorbell" },
	{}
};
/*
 * No MODULE_DEVICE_TABLE: the module is loaded by insmod, not by its alias, and the
 * build machine's modpost (linux-kbuild, built for that machine) sizes device tables
 * as that machine's compiler does, not as ARM's.
 */

static struct platform_driver doorbell_driver = {
	.probe = doorbell_probe,
	.driver = { .name = "ovm-doorbell", .of_match_table = doorbell_ids },
};

/* --- The module ------------------------------------------------------------------------ */

static int __init ovm_init(void)
{
	struct hc_result ping;
	int err;

	ping = ovm_call(HC_PING, 41, 0, 0);
	if (ping.status != OVM_OK || ping.r1 != 42) {
		pr_err("ovm: no OVM answers smc #0 (ping: status %d, r1 %u)\n", ping.status,
		       ping.r1);
		return -ENODEV;
	}
	if (ping.r2 != OVM_ABI_VERSION) {
		pr_err("ovm: OVM speaks ABI %u, this module %u\n", ping.r2, OVM_ABI_VERSION);
		return -EPROTO;
	}
	info = kzalloc(sizeof(*info), GFP_KERNEL);
	request = kzalloc(sizeof(*request), GFP_KERNEL);
	err = -ENOMEM;
	if (!info || !request)
		goto free;
	err = -ENOMEM;
	if (!proc_create("ovm", 0600, NULL, &ovm_proc_ops))
		goto free;
	err = misc_register(&io_device);
	if (err)
		goto proc;
	err = platform_driver_register(&doorbell_driver);
	if (err)
		goto misc;
	pr_info("ovm: OVM ABI %u: /proc/ovm and /dev/ovm-io\n", ping.r2);
	return 0;
misc:
	misc_deregister(&io_device);
proc:
	remove_proc_entry("ovm", NULL);
free:
	kfree(info);
	kfree(request);
	return err;
}

static void __exit ovm_exit(void)
{
	platform_driver_unregister(&doorbell_driver);
	misc_deregister(&io_device);
	remove_proc_entry("ovm", NULL);
	kfree(info);
	kfree(request);
}

module_init(ovm_init);
module_exit(ovm_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("OVM host interface: /proc/ovm, host-proxied I/O for NRT guests");
