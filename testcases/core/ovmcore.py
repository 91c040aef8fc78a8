"""ctypes binding of harness.c: the scheduler core as compiled for the host."""

from __future__ import annotations

import ctypes
import enum
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lab.firmware.limits import CONFIG_H, c_constants, c_define

REPO = Path(__file__).resolve().parents[2]
SOURCES = (
    REPO / "testcases" / "core" / "harness.c",
    REPO / "ovm" / "core" / "sched.c",
    REPO / "ovm" / "core" / "admission.c",
)
SCHED_H = REPO / "ovm" / "core" / "inc" / "core" / "sched.h"
ADMISSION_H = REPO / "ovm" / "core" / "inc" / "core" / "admission.h"
NEVER = c_define(SCHED_H, "SCHED_NEVER")
ADMISSION_MAX_TASKS = c_define(ADMISSION_H, "ADMISSION_MAX_TASKS")


# enum rt_level and enum sched_status, member for member.
Level = enum.IntEnum("Level", {name: value for name, value in c_constants(CONFIG_H, "LEVEL_").items()
                               if name in ("HRT", "SRT", "NRT")})
Status = enum.IntEnum("Status", {name: value for name, value
                                 in c_constants(SCHED_H, "SCHED_").items()
                                 if name == "OK" or name.startswith("E_")})


@dataclass(frozen=True)
class CAdmission:
    schedulable: bool
    utilization_ppm: int
    failed_at: int
    demand: int
    too_many_points: bool


def build(directory: Path) -> Path:
    library = directory / "libovmcore.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-Wshadow",
         "-Wstrict-prototypes", f"-I{REPO / 'ovm' / 'core' / 'inc'}",
         f"-I{REPO / 'ovm' / 'lib' / 'inc'}", "-o", str(library), *map(str, SOURCES)],
        check=True,
    )
    return library


class Core:
    """The scheduler of up to OVM_MAX_CORES cores; vCPUs are named by attach order."""

    def __init__(self, library: Path) -> None:
        lib = ctypes.CDLL(str(library))
        u32, u64, c_int = ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int
        signatures: dict[str, tuple[list[object], object]] = {
            "h_reset": ([u32, u64, u64], None),
            "h_attach": ([u32, u32], c_int),
            "h_set_rt": ([u32, u64, u64, u64, u64], c_int),
            "h_job_done": ([u32, u64], None),
            "h_job_done_pick": ([u32, u64], c_int),
            "h_block": ([u32, u64], None),
            "h_unblock": ([u32], c_int),
            "h_update": ([u32, u64], None),
            "h_pick": ([u32, u64], c_int),
            "h_next_event": ([u32], u64),
            "h_budget_event": ([u32], u64),
            "h_overruns": ([u32], u32),
            "h_misses": ([u32], u32),
            "h_max_detect_delay": ([u32], u64),
            "h_jobs_done": ([u32], u32),
            "h_runtime": ([u32], u64),
            "h_admission": (
                [u32, ctypes.POINTER(u64), ctypes.POINTER(u64), ctypes.POINTER(u64),
                 ctypes.POINTER(u64)],
                c_int,
            ),
        }
        for name, (arguments, result) in signatures.items():
            function = getattr(lib, name)
            function.argtypes = arguments
            function.restype = result
        self._lib = lib

    def reset(self, cores: int, nrt_slice: int, min_period: int) -> None:
        self._lib.h_reset(cores, nrt_slice, min_period)

    def attach(self, core: int, level: Level) -> int:
        """The vCPU's index, or a negative Status."""
        return int(self._lib.h_attach(core, level))

    def set_rt(self, vcpu: int, now: int, deadline: int, period: int, budget: int) -> Status:
        return Status(self._lib.h_set_rt(vcpu, now, deadline, period, budget))

    def job_done(self, vcpu: int, now: int) -> None:
        self._lib.h_job_done(vcpu, now)

    def job_done_pick(self, vcpu: int, now: int) -> int | None:
        """vm_exit's quick case: the vCPU picked after the job, or None when it is not
        that case (and nothing changed)."""
        picked = int(self._lib.h_job_done_pick(vcpu, now))
        return None if picked < 0 else picked

    def block(self, vcpu: int, now: int) -> None:
        self._lib.h_block(vcpu, now)

    def unblock(self, vcpu: int) -> bool:
        """False if the vCPU was not blocked."""
        return bool(self._lib.h_unblock(vcpu))

    def update(self, core: int, now: int) -> None:
        self._lib.h_update(core, now)

    def pick(self, core: int, now: int) -> int | None:
        picked = int(self._lib.h_pick(core, now))
        return None if picked < 0 else picked

    def next_event(self, core: int) -> int:
        return int(self._lib.h_next_event(core))

    def budget_event(self, core: int) -> int:
        return int(self._lib.h_budget_event(core))

    def overruns(self, vcpu: int) -> int:
        return int(self._lib.h_overruns(vcpu))

    def misses(self, vcpu: int) -> int:
        return int(self._lib.h_misses(vcpu))

    def max_detect_delay(self, vcpu: int) -> int:
        return int(self._lib.h_max_detect_delay(vcpu))

    def jobs_done(self, vcpu: int) -> int:
        return int(self._lib.h_jobs_done(vcpu))

    def runtime(self, vcpu: int) -> int:
        return int(self._lib.h_runtime(vcpu))

    def admission(self, tasks: list[tuple[int, int, int]]) -> CAdmission:
        """edf_admission over (deadline, period, budget) tuples."""
        # harness.c answers -1 to more, which would read as schedulable.
        if len(tasks) > ADMISSION_MAX_TASKS:
            raise ValueError(f"harness.c takes at most {ADMISSION_MAX_TASKS} tasks")
        array = ctypes.c_uint64 * max(len(tasks), 1)
        deadlines = array(*(task[0] for task in tasks))
        periods = array(*(task[1] for task in tasks))
        budgets = array(*(task[2] for task in tasks))
        out = (ctypes.c_uint64 * 4)()
        schedulable = self._lib.h_admission(len(tasks), deadlines, periods, budgets, out)
        return CAdmission(bool(schedulable), out[0], out[1], out[2], bool(out[3]))
