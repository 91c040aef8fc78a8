"""The build identifier OVM prints at boot: which source it was built from."""

from __future__ import annotations

import subprocess
from pathlib import Path

NO_GIT = "nogit"
# Images carry the id padded to this width: a longer or shorter id (dirty or
# clean, a tag) must not move code or change how long the boot prints, or the
# evaluation's icount figures would change with the id instead of the code.
BUILD_ID_WIDTH = 40


def build_id(repo_root: Path) -> str:
    """"<commit>[-dirty]" from git, or "nogit" outside a repository or before its first commit.

    Deliberately free of timestamps so that rebuilding unchanged sources
    regenerates identical files and make has nothing to do.
    """
    try:
        described = subprocess.run(
            ["git", "-C", str(repo_root), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return NO_GIT
    return described.stdout.strip() or NO_GIT


def printed_build_id(build: str) -> str:
    """``build`` as images print it: padded with spaces to BUILD_ID_WIDTH."""
    if len(build) > BUILD_ID_WIDTH:
        build = build[:BUILD_ID_WIDTH]
    return build.ljust(BUILD_ID_WIDTH)
