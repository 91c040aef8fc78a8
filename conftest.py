"""Project-wide pytest wiring.

labgrid's pytest plugin (installed with labgrid) provides ``env``, ``target``
and ``strategy`` from ``--lg-env``; ``make test`` passes ``env/qemu.yaml``.
Here: the markers' meaning, and the ``ovm`` fixture that boots OVM once per
session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent


def _target_features(config: pytest.Config) -> set[str] | None:
    """Features of the --lg-env target "main", or None when no environment is given."""
    env_file = config.getoption("lg_env", default=None)
    if not env_file:
        return None
    from labgrid.config import Config

    targets = Config(env_file).get_targets()
    return set(targets.get("main", {}).get("features", []) or [])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    features = _target_features(config)
    for item in items:
        needs_target = any(item.get_closest_marker(m) for m in ("lab", "qemu", "board"))
        if needs_target and features is None:
            item.add_marker(pytest.mark.skip(reason="needs a target: run with --lg-env"))
        elif item.get_closest_marker("qemu") and "qemu" not in (features or set()):
            item.add_marker(pytest.mark.skip(reason="needs the emulated board (QEMU)"))
        elif item.get_closest_marker("board") and "zc702" not in (features or set()):
            item.add_marker(pytest.mark.skip(reason="needs a ZC702 board"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def _ovm_board(env) -> str:
    board = env.config.get_option("ovm_board", None)
    if not board:
        raise pytest.UsageError(f"{env.config_file}: options.ovm_board names no board")
    return board


def _strategy(target):
    # Not labgrid's `strategy` fixture: its setup hook fails outright (instead of
    # skipping) when a test that requests it runs without --lg-env.
    return target.get_driver("OVMStrategy")


def _off_if_local_qemu(strategy) -> None:
    """When a module is done with it: an idle QEMU under icount still spins a core, which
    the tests after it (two cores in all) would share with it. A board, or a virtual one
    behind an exporter, stays on as a lab leaves it."""
    from labgrid.driver import QEMUDriver

    if isinstance(strategy.power, QEMUDriver):
        strategy.transition("off")


@pytest.fixture(scope="module")
def ovm(target):
    """OVM (the environment's own image) booted on the target; the strategy keeps
    banner and transcript."""
    strategy = _strategy(target)
    strategy.select_image(None)
    strategy.transition("ovm")
    yield strategy
    _off_if_local_qemu(strategy)


@pytest.fixture(scope="module")
def boot_scenario(env, target):
    """Build a scenario for the target's board and boot it: ``boot_scenario("paper-eval")``."""
    from lab.firmware.build import build

    strategy = _strategy(target)

    def boot(scenario: str):
        result = build(_ovm_board(env), scenario, repo_root=REPO_ROOT)
        strategy.select_image(result.elf)
        strategy.transition("ovm")
        assert strategy.banner.scenario == scenario
        return strategy

    yield boot
    _off_if_local_qemu(strategy)
    strategy.select_image(None)


@pytest.fixture(scope="session", autouse=True)
def _junit_provenance(record_testsuite_property, pytestconfig: pytest.Config) -> None:
    """The JUnit XML says what ran: board, board kind, timing, image and commit."""
    from lab.target.provenance import git_commit, icount_shift

    record_testsuite_property("commit", git_commit(REPO_ROOT))
    env_file = pytestconfig.getoption("lg_env", default=None)
    if not env_file:
        record_testsuite_property("board", "none (no --lg-env: no target tests ran)")
        return
    from labgrid.config import Config

    config = Config(env_file)
    features = _target_features(pytestconfig) or set()
    record_testsuite_property("board", config.get_option("ovm_board", "unknown"))
    record_testsuite_property("board_kind", "qemu" if "qemu" in features else "zc702")
    qemu = config.get_targets().get("main", {}).get("drivers", {}).get("QEMUDriver")
    shift = icount_shift(qemu.get("extra_args", "")) if qemu else None
    record_testsuite_property("timing", "icount" if shift is not None else "real")
    if shift is not None:
        record_testsuite_property("icount_shift", str(shift))
    record_testsuite_property("image", os.path.normpath(config.get_image_path("ovm")))
