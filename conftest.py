"""Project-wide pytest wiring.

labgrid's pytest plugin (installed with labgrid) provides ``env``, ``target``
and ``strategy`` from ``--lg-env``; ``make test`` passes ``env/qemu.yaml``.
Here: the markers' meaning, and the ``ovm`` fixture that boots OVM once per
session.
"""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def ovm(strategy):
    """OVM booted on the session's target; the strategy keeps banner and transcript."""
    strategy.transition("ovm")
    return strategy
