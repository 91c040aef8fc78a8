"""Where the lab's own and labgrid's log messages go: a file beside the run, not the screen.

The screen gets the lab's progress lines and, on a failure, one message that
says what happened; labgrid's warnings and its cleanup's tracebacks belong in
the run's ``lab.log``, which that message names.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@contextmanager
def logging_to(path: Path, level: int = logging.INFO) -> Iterator[Path]:
    """Every logger's records of ``level`` and above go to ``path`` within the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
        handler.close()
