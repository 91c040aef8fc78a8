/*
 * vfpcheck: does a process's VFP/NEON state survive context switches?
 *
 * Part of lab/linux (Linux as OVM's host, issue 13). Whoever switches the
 * CPU between VFP users (Linux's lazy VFP switch, or OVM switching worlds
 * under Linux) must save and restore d0-d31 and FPSCR; if it does not, a
 * process finds another's values in its registers. One process alone could
 * miss that (nobody else would change the registers), so several processes
 * use them at once on one CPU and hand the CPU to each other in the middle
 * of holding a pattern:
 *
 *  - WORKERS "hold" workers. Each iteration, one worker loads a pattern,
 *    distinct per worker and per iteration, into all 32 d registers (that is
 *    q0-q15, NEON's whole register file) and into FPSCR's writable bits
 *    (NZCV, QC, AHP, DN, FZ, RMode, the cumulative exception flags), spins
 *    SPIN loops, calls sched_yield (another worker runs and loads its own
 *    pattern), spins again, then stores the registers and compares each with
 *    its pattern. Between load and store it runs integer instructions and the
 *    system call only (one asm block), so any difference came from outside
 *    the process. Timer preemption can land in either spin as well.
 *  - one "compute" worker: each iteration, double-precision sums of k/8 and
 *    k^2 over a chunk of k whose exact values are known (every partial sum
 *    is a multiple of 1/8 below 2^50, or an integer below 2^53: exact in
 *    binary64), with a sched_yield halfway while the partial sums wait in
 *    registers (d8-d15 are callee-saved) or on the stack. After each chunk it
 *    checks that FPSCR's modes are still its own (no RMode, FZ or DN of a hold
 *    worker leaked in) and the sums against the values computed in integers; the
 *    chunks' k/8 sums add up to "result", compared with "expected".
 *
 * All workers are pinned to the CPU vfpcheck started on, so that the yields
 * are switches between them. A worker killed by a signal (SIGILL: the kernel
 * lost VFP for user space) counts as an error.
 *
 * Usage: vfpcheck [ITERATIONS [SPIN [WORKERS [corrupt]]]]
 *   defaults 2000, 20000, 2: about 6 s of QEMU's virtual time at -icount shift=4.
 *   "corrupt": hold worker 0 overwrites d17 itself in every window, to show that
 *   the check sees a change (exits 1 with errors=ITERATIONS).
 * Prints one line, and exits 0 only if errors=0 and result equals expected:
 *   vfpcheck: iterations=N spin=S workers=W checks=C errors=E result=R expected=R fpscr_mask=0x...
 * (workers: hold workers, the compute worker besides; checks: windows and chunks checked;
 * fpscr_mask: the FPSCR bits the hold workers vary, those of the candidates that stick.)
 * Mismatches are printed on stderr (the first few of each worker).
 *
 * Built with arm-linux-gnueabihf-gcc -static -O2 -marm -mfpu=neon -mfloat-abi=hard
 * (ARM state: the asm uses r7 for the system call number, Thumb's frame pointer).
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define DREGS 32
#define CHUNK 64               /* compute terms per iteration (a yield halfway) */
#define CHUNKS 1024            /* distinct chunks before they repeat */
#define MAX_ITERATIONS (1u << 24)  /* keeps the compute worker's total exact */
#define MAX_REPORTS 8          /* mismatch lines per worker on stderr */
/* FPSCR bits a hold worker may set: NZCV, QC, AHP, DN, FZ, RMode (31-22) and the
 * cumulative flags IDC, IXC, UFC, OFC, DZC, IOC (7, 4-0). Not Len/Stride (short
 * vectors, must stay 0 with NEON) nor the trap enables (none on the A9). */
#define FPSCR_CANDIDATES 0xffc0009fu
/* The compute worker's own code changes NZCV (every compare) and may raise cumulative
 * flags; what it checks is FPSCR's modes: AHP, DN, FZ, RMode, Stride, Len (26-16). */
#define FPSCR_MODES 0x07ff0000u

struct tally {
    uint32_t checks;
    uint32_t errors;
    double result;             /* compute worker only */
};

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint32_t read_fpscr(void)
{
    uint32_t value;
    __asm__ volatile("vmrs %0, fpscr" : "=r"(value));
    return value;
}

static void write_fpscr(uint32_t value)
{
    __asm__ volatile("vmsr fpscr, %0" : : "r"(value) : "memory");
}

/* Load pattern[] into d0-d31 and fpscr into FPSCR, spin, yield, spin, store the
 * registers into seen[]; returns the FPSCR seen. The caller's FPSCR is restored. */
static uint32_t hold(const uint64_t pattern[DREGS], uint64_t seen[DREGS], uint32_t fpscr,
                     uint32_t spin, uint32_t corrupt)
{
    uint32_t saved, seen_fpscr, count, tmp;
    register uint32_t nr __asm__("r7") = SYS_sched_yield;

    __asm__ volatile(
        "vmrs    %[saved], fpscr\n\t"
        "vldmia  %[pat], {d0-d15}\n\t"
        "add     %[tmp], %[pat], #128\n\t"
        "vldmia  %[tmp], {d16-d31}\n\t"
        "vmsr    fpscr, %[fpscr]\n\t"
        "mov     %[count], %[spin]\n"
        "1:\n\t"
        "subs    %[count], %[count], #1\n\t"
        "bne     1b\n\t"
        "svc     #0\n\t"                 /* sched_yield: r0 is its only output */
        "mov     %[count], %[spin]\n"
        "2:\n\t"
        "subs    %[count], %[count], #1\n\t"
        "bne     2b\n\t"
        "cmp     %[corrupt], #0\n\t"       /* the self-test: a change from within */
        "vmovne  d17, %[corrupt], %[corrupt]\n\t"
        "vmrs    %[seen_fpscr], fpscr\n\t"
        "vstmia  %[seen], {d0-d15}\n\t"
        "add     %[tmp], %[seen], #128\n\t"
        "vstmia  %[tmp], {d16-d31}\n\t"
        "vmsr    fpscr, %[saved]\n\t"
        : [saved] "=&r"(saved), [seen_fpscr] "=&r"(seen_fpscr), [count] "=&r"(count),
          [tmp] "=&r"(tmp)
        : [pat] "r"(pattern), [seen] "r"(seen), [fpscr] "r"(fpscr), [spin] "r"(spin),
          [corrupt] "r"(corrupt), "r"(nr)
        : "r0", "cc", "memory",
          "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7",
          "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15",
          "d16", "d17", "d18", "d19", "d20", "d21", "d22", "d23",
          "d24", "d25", "d26", "d27", "d28", "d29", "d30", "d31");
    return seen_fpscr;
}

static void report(struct tally *t, unsigned worker, uint32_t iteration, const char *what,
                   uint64_t seen, uint64_t expected)
{
    if (t->errors++ < MAX_REPORTS)
        fprintf(stderr, "vfpcheck: worker %u iteration %" PRIu32 ": %s = 0x%016" PRIx64
                " expected 0x%016" PRIx64 "\n", worker, iteration, what, seen, expected);
}

static void hold_worker(struct tally *t, unsigned worker, uint32_t iterations, uint32_t spin,
                        uint32_t fpscr_mask, uint32_t corrupt)
{
    uint64_t pattern[DREGS], seen[DREGS];
    char name[8];

    for (uint32_t i = 0; i < iterations; i++) {
        uint64_t seed = ((uint64_t)(worker + 1) << 48) | ((uint64_t)i << 8);
        for (unsigned r = 0; r < DREGS; r++)
            pattern[r] = splitmix64(seed | r);
        uint32_t fpscr = (uint32_t)splitmix64(seed | 0xff) & fpscr_mask;
        uint32_t seen_fpscr = hold(pattern, seen, fpscr, spin, corrupt) & fpscr_mask;
        t->checks++;
        for (unsigned r = 0; r < DREGS; r++) {
            if (seen[r] != pattern[r]) {
                snprintf(name, sizeof name, "d%u", r);
                report(t, worker, i, name, seen[r], pattern[r]);
            }
        }
        if (seen_fpscr != fpscr)
            report(t, worker, i, "fpscr", seen_fpscr, fpscr);
    }
}

/* Sum of k and of k^2 for k < n, in integers. */
static uint64_t sum_below(uint64_t n) { return n * (n - 1) / 2; }
static uint64_t sum_sq_below(uint64_t n) { return n ? (n - 1) * n * (2 * n - 1) / 6 : 0; }

/* The first k of iteration i's chunk: chunks repeat every CHUNKS iterations, so that every
 * sum stays small (k < 2^16, a chunk's sum of k^2 < 2^38) and exact in binary64. */
static uint64_t chunk_base(uint32_t i) { return (uint64_t)(i % CHUNKS) * CHUNK; }

static void compute_worker(struct tally *t, unsigned worker, uint32_t iterations)
{
    const uint32_t own = read_fpscr() & FPSCR_MODES;
    double total = 0.0;

    for (uint32_t i = 0; i < iterations; i++) {
        uint64_t base = chunk_base(i), k;
        double eighths = 0.0, squares = 0.0;
        for (k = base; k < base + CHUNK / 2; k++) {
            eighths += (double)k * 0.125;
            squares += (double)k * (double)k;
        }
        sched_yield();  /* the partial sums wait in registers or on the stack meanwhile */
        for (; k < base + CHUNK; k++) {
            eighths += (double)k * 0.125;
            squares += (double)k * (double)k;
        }
        t->checks++;
        uint32_t fpscr = read_fpscr() & FPSCR_MODES;
        if (fpscr != own)
            report(t, worker, i, "fpscr", fpscr, own);
        uint64_t sum = sum_below(base + CHUNK) - sum_below(base);
        uint64_t sum_sq = sum_sq_below(base + CHUNK) - sum_sq_below(base);
        if (eighths * 8 != (double)sum)
            report(t, worker, i, "8 x sum of k/8", (uint64_t)(eighths * 8), sum);
        if (squares != (double)sum_sq)
            report(t, worker, i, "sum of k^2", (uint64_t)squares, sum_sq);
        total += eighths;  /* below 2^19 each, so below 2^43 in all (MAX_ITERATIONS) */
    }
    t->result = total;
}

static uint32_t argument(int argc, char **argv, int index, uint32_t otherwise, uint32_t most)
{
    if (argc <= index)
        return otherwise;
    char *end;
    unsigned long value = strtoul(argv[index], &end, 10);
    if (*end != '\0' || value == 0 || value > most) {
        fprintf(stderr, "vfpcheck: argument %d (%s) must be an integer from 1 to %" PRIu32 "\n",
                index, argv[index], most);
        exit(2);
    }
    return (uint32_t)value;
}

int main(int argc, char **argv)
{
    /* About 6 s of QEMU's virtual time at -icount shift=4 (1.5 s of wall time here). */
    uint32_t iterations = argument(argc, argv, 1, 2000, MAX_ITERATIONS);
    uint32_t spin = argument(argc, argv, 2, 20000, UINT32_MAX);
    uint32_t workers = argument(argc, argv, 3, 2, 64);
    uint32_t corrupt = 0;
    if (argc > 4) {
        if (strcmp(argv[4], "corrupt") != 0) {
            fprintf(stderr, "vfpcheck: argument 4 (%s) can only be \"corrupt\"\n", argv[4]);
            return 2;
        }
        corrupt = 0xdeadbeef;
    }

    /* Which candidate bits this FPSCR keeps: the rest read as zero. */
    uint32_t own = read_fpscr();
    write_fpscr(own | FPSCR_CANDIDATES);
    uint32_t fpscr_mask = read_fpscr() & FPSCR_CANDIDATES;
    write_fpscr(own);

    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0)
        perror("vfpcheck: sched_setaffinity (going on unpinned)");

    struct tally *tally = mmap(NULL, sizeof *tally * (workers + 1), PROT_READ | PROT_WRITE,
                               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (tally == MAP_FAILED) {
        perror("vfpcheck: mmap");
        return 2;
    }
    memset(tally, 0, sizeof *tally * (workers + 1));

    /* Workers 0..workers-1 hold patterns, worker `workers` computes. */
    uint32_t errors = 0;
    for (uint32_t w = 0; w <= workers; w++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("vfpcheck: fork");
            return 2;
        }
        if (pid == 0) {
            if (w < workers)
                hold_worker(&tally[w], w, iterations, spin, fpscr_mask, w == 0 ? corrupt : 0);
            else
                compute_worker(&tally[w], w, iterations);
            _exit(0);
        }
    }
    int status;
    pid_t pid;
    while ((pid = wait(&status)) > 0) {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "vfpcheck: worker pid %d ended with status 0x%x\n", (int)pid, status);
            errors++;
        }
    }

    uint32_t checks = 0;
    for (uint32_t w = 0; w <= workers; w++) {
        checks += tally[w].checks;
        errors += tally[w].errors;
    }
    uint64_t eighths = 0;  /* 8 x the compute worker's total, in integers */
    for (uint32_t i = 0; i < iterations; i++)
        eighths += sum_below(chunk_base(i) + CHUNK) - sum_below(chunk_base(i));
    double expected = (double)eighths * 0.125;
    double result = tally[workers].result;
    printf("vfpcheck: iterations=%" PRIu32 " spin=%" PRIu32 " workers=%" PRIu32
           " checks=%" PRIu32 " errors=%" PRIu32 " result=%.3f expected=%.3f fpscr_mask=0x%08"
           PRIx32 "\n", iterations, spin, workers, checks, errors, result, expected,
           fpscr_mask);
    return errors == 0 && result == expected ? 0 : 1;
}
