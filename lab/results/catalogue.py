"""Every figure the lab measures, named once.

A **series** is a distribution of samples (one interrupt latency, one switch,
one device access each); a **figure** is one number per run (a deadline
count, a console delay). Each says where ``summary.json`` keeps it, how people
read it (label, unit, plot group), what the paper reported for it, which of its
statistics the nightly trend watches, and which probe's records it comes from.

The summary, the printed table, the HTML report, the trend and its
regression check, the InfluxDB schema and the Grafana dashboard
(``lab.results.grafana``) all loop over these tables. A new series is one entry
here and its probe.
"""

from __future__ import annotations

from dataclasses import dataclass

# Units of a figure: ns (virtual ns under icount) or a plain count.
NS, COUNT = "ns", "count"


@dataclass(frozen=True)
class Source:
    """Where a series' samples come from: an experiment's probe and its record series.

    ``record`` None: the lab derives the samples itself (switches are paired
    from two probes' timestamps; Linux's from the baseline's own program).
    """

    experiment: str
    record: str | None
    vm: str  # the vm tag of the samples
    core: int
    # The VM whose records to read, where several VMs print a series of that name.
    record_vm: str | None = None


@dataclass(frozen=True)
class Paper:
    """The paper's figure for a row: its text in the table, where summary["paper"] has it."""

    text: str
    path: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Series:
    measurement: str  # the sample table's and InfluxDB's measurement
    key: str  # the summary's key within the measurement's section
    label: str  # the table's and the paper comparison's row
    plot_label: str  # the report's plots and statistics tables
    level: str  # the level tag of the samples (the path, for switches and I/O)
    group: str  # the report section and plot it belongs to: latency, switch, io
    source: Source
    paper: Paper = Paper("-")
    trend: tuple[str, ...] = ()  # statistics the nightly tracks: max, p99, mean

    @property
    def id(self) -> str:
        return f"{self.measurement}/{self.key}"

    @property
    def section(self) -> str:
        """summary.json's section of the series: irq_latency_ns, context_switch_ns, ..."""
        return f"{self.measurement}_ns"


@dataclass(frozen=True)
class Figure:
    """One number per run: a field of a scalar measurement's point."""

    measurement: str  # deadline, console
    key: str  # the experiment (deadline) or the VM (console)
    field: str
    label: str
    trend_label: str | None = None  # tracked by the nightly under this name (worse = higher)
    derived: bool = False  # computed from other fields of the run, not measured

    @property
    def unit(self) -> str:
        return NS if self.field.endswith("_ns") else COUNT

    @property
    def path(self) -> str:
        return f"{SCALAR_SECTIONS[self.measurement]}.{self.key}.{self.field}"


_PAPER_IRQ_SHARED = Paper("140/150/170", ("irq_latency_ns", "SRT/NRT"))

SERIES: tuple[Series, ...] = (
    Series("irq_latency", "native", "IRQ latency, native", "native", "native", "latency",
           Source("native", "irq_latency.direct", "native", 0),
           Paper("70", ("irq_latency_ns", "native")), ("max", "p99")),
    Series("irq_latency", "HRT", "IRQ latency, HRT", "HRT", "HRT", "latency",
           Source("hrt", "irq_latency.direct", "hrt", 1),
           Paper("70 (every time)", ("irq_latency_ns", "HRT")), ("max", "p99")),
    # The paper has no user-mode HRT: the price of isolating one, beside the trusted figure.
    Series("irq_latency", "HRT_user", "IRQ latency, HRT in user mode", "HRT user", "HRT_user",
           "latency", Source("hrt_user", "irq_latency.direct", "hrt", 1), trend=("max", "p99")),
    Series("irq_latency", "SRT", "IRQ latency, SRT", "SRT", "SRT", "latency",
           Source("shared", "irq_latency.SRT", "srt", 0), _PAPER_IRQ_SHARED, ("max", "p99")),
    Series("irq_latency", "NRT", "IRQ latency, NRT (at once)", "NRT", "NRT", "latency",
           Source("shared", "irq_latency.NRT", "nrt", 0), _PAPER_IRQ_SHARED, ("max", "p99")),
    Series("irq_deferred", "NRT", "IRQ, NRT deferred to dispatch", "NRT deferred", "NRT",
           "latency", Source("shared", "irq_deferred.NRT", "nrt", 0), trend=("max",)),
    Series("context_switch", "ovm", "vCPU switch SRT->NRT", "OVM switch SRT>NRT (vm_exit)",
           "SRT>NRT", "switch", Source("shared", None, "srt>nrt", 0),
           Paper("270/280/330", ("context_switch_ns", "ovm")), ("mean", "max")),
    Series("context_switch", "ovm_preempt", "vCPU switch NRT->SRT (release)",
           "OVM switch NRT>SRT (release)", "NRT>SRT", "switch",
           Source("shared", None, "nrt>srt", 0), trend=("mean",)),
    Series("context_switch", "linux", "Linux process switch", "Linux process switch", "linux",
           "switch", Source("linux", None, "ctxsw", 0),
           Paper("510/720/1000", ("context_switch_ns", "linux"))),
    # One device access per I/O path, the cheapest first (the paper has no I/O figures).
    Series("io_cost", "passthrough", "I/O, HRT passthrough (MMIO)",
           "I/O passthrough (HRT, MMIO read)", "HRT", "io",
           Source("io_passthrough", "io_cost.passthrough", "hrt", 1, "hrt"), trend=("mean", "max")),
    Series("io_cost", "ovm_proxy", "I/O, SRT via OVM (input)",
           "I/O via OVM (SRT, input of OVM's timer)", "SRT", "io",
           Source("io_proxy", "io_cost.ovm_proxy", "quiet", 1, "quiet"), trend=("mean", "max")),
    Series("io_cost", "host_proxy", "I/O, NRT via the host (input)",
           "I/O via the host (NRT, input of the host's device)", "NRT", "io",
           Source("io_proxy", "io_cost.host_proxy", "nrt", 1, "nrt"), trend=("mean", "max")),
    Series("io_cost", "host_proxy_linux", "I/O, NRT via the Linux host (input)",
           "I/O via the Linux host (NRT, input served by ovm-hostd)", "NRT>Linux", "io",
           Source("io_proxy_linux", "io_cost.host_proxy", "nrt", 1, "nrt"),
           trend=("mean", "max")),
)

# Scalar measurements and their sections in summary.json.
SCALAR_SECTIONS = {"deadline": "deadline", "console": "console_sharing"}
# The tag that tells a scalar measurement's points apart: the summary's key within its section.
SCALAR_KEY_TAGS = {"deadline": "test", "console": "vm"}

# The console's figures and how they read, whichever VM they are of.
CONSOLE_LABELS = {
    "lines": "lines written", "line_bytes": "bytes per line",
    "max_delay_ns": "longest wait of a line for the UART [ns]",
    "bound_ns": "bound the sharing promises within the share [ns]",
    "throttled": "writes refused (over the share)", "jobs": "jobs",
    "refused_jobs": "jobs with a write refused",
}
# Each console VM's figures: the quiet VM is held to the bound, the chatty one is refused.
CONSOLE_FIELDS = {
    "quiet": ("lines", "line_bytes", "max_delay_ns", "bound_ns", "throttled"),
    "chatty": ("lines", "line_bytes", "max_delay_ns", "throttled", "jobs", "refused_jobs"),
}

FIGURES: tuple[Figure, ...] = (
    Figure("deadline", "schedulable", "periods", "periods"),
    Figure("deadline", "schedulable", "misses", "deadline misses",
           "deadline misses, schedulable"),
    Figure("deadline", "schedulable", "handler_runs", "miss handler runs"),
    Figure("deadline", "overload", "jobs", "jobs"),
    Figure("deadline", "overload", "misses", "deadline misses"),
    Figure("deadline", "overload", "detected", "misses detected"),
    Figure("deadline", "overload", "undetected", "misses not detected",
           "overload misses not detected", derived=True),
    Figure("deadline", "overload", "max_detect_ns",
           "worst detection delay [ns after the deadline]", "overload detection delay, worst"),
    *(Figure("console", vm, field, CONSOLE_LABELS[field],
             "console: quiet VM's line wait, worst"
             if (vm, field) == ("quiet", "max_delay_ns") else None)
      for vm, fields in CONSOLE_FIELDS.items() for field in fields),
)

SAMPLE_MEASUREMENTS: tuple[str, ...] = tuple(dict.fromkeys(s.measurement for s in SERIES))
SCALAR_MEASUREMENTS: tuple[str, ...] = tuple(SCALAR_SECTIONS)
# How the trend names a tracked statistic.
STAT_WORDS = {"max": "worst", "p99": "p99", "mean": "mean"}


def series(measurement: str, key: str) -> Series:
    found = {s.id: s for s in SERIES}.get(f"{measurement}/{key}")
    if found is None:
        raise KeyError(f"no series {measurement}/{key} in the catalogue")
    return found


def in_group(group: str) -> tuple[Series, ...]:
    return tuple(s for s in SERIES if s.group == group)


def by_level(measurement: str, level: str) -> Series | None:
    """The series a sample of ``measurement`` with this level tag belongs to (each level tag
    names one series of its measurement; a test checks it)."""
    return {(s.measurement, s.level): s for s in SERIES}.get((measurement, level))


def figures_of(measurement: str) -> tuple[Figure, ...]:
    return tuple(f for f in FIGURES if f.measurement == measurement)


def measured_fields(measurement: str) -> tuple[str, ...]:
    """A scalar measurement's stored fields (not the derived ones), in catalogue order."""
    return tuple(dict.fromkeys(f.field for f in figures_of(measurement) if not f.derived))
