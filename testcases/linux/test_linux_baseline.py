"""The Linux process context-switch baseline (lab.evaluation.linux_baseline) on the emulated board:
one measurement, its series complete and plausible. The figures are virtual time under
-icount (instructions x 2^shift ns), read with the shift of the environment's QEMU."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.evaluation.linux_baseline import (
    SERIES,
    LinuxBaseline,
    icount_shift_from_env,
    measure,
)

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def baseline(env) -> LinuxBaseline:
    # Boots Linux once (about 10 s); every test below reads this one run.
    return measure(env_file=Path(env.config_file))


def test_series_accepted_whole(baseline):
    assert ("", SERIES) in baseline.parsed.series
    assert baseline.rejected == []
    assert baseline.parsed.corrupt_lines == 0
    assert baseline.parsed.meta[("", SERIES)] == {"unit": "ns"}


def test_thousand_positive_samples(baseline):
    assert len(baseline.samples) == 1000
    assert (baseline.samples > 0).all()
    assert baseline.program_info["negative"] == "0"


def test_measured_as_configured(baseline, env):
    assert baseline.cpus == 1
    assert baseline.icount_shift == icount_shift_from_env(Path(env.config_file))
    assert baseline.kernel_version and baseline.method
