"""Where the lab's files are: the repository and the places every entry point defaults to.

The one place the repository's root is computed; everything else names its
files relative to these.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
OVM_DIR = REPO_ROOT / "ovm"
ENV_DIR = REPO_ROOT / "env"
QEMU_ENV = ENV_DIR / "qemu.yaml"
REPORTS_OUT = REPO_ROOT / "reports" / "out"
STORE_DIR = REPO_ROOT / "reports" / "store"
# Debian's armhf kernel, busybox and rt-tests (env/setup.sh), and what the lab builds for them.
LINUX_DIR = REPO_ROOT / "build" / "linux-armhf"


LAB_ENV = ENV_DIR / "zc702-remote.yaml"


def shown(path: Path) -> Path:
    """A path as a reader at the repository's top finds it (as given when outside it)."""
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def default_lg_env(otherwise: Path = QEMU_ENV) -> Path:
    """labgrid's own variable LG_ENV names the environment where no --lg-env does; else
    ``otherwise`` (QEMU's, for the commands that run on any target)."""
    named = os.environ.get("LG_ENV")
    return Path(named) if named else otherwise
