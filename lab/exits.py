"""The exit statuses every entry point of the lab answers with, and how a stop request ends it.

==========  ==========================================================
0           the run did what it was asked, nothing regressed
1           the run completed, and a figure regressed (``lab.nightly``)
2           the run failed: it says which step, why, and where its log is
130         interrupted (SIGINT, Ctrl-C): whatever was started is stopped
143         terminated (SIGTERM: ``timeout``, systemd, a CI cancelling)
==========  ==========================================================

SIGTERM is turned into the same unwinding as Ctrl-C, so ``finally`` blocks
and context managers (QEMU stopped, a place released) run for both, and the
status tells the two apart.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

OK, REGRESSION, FAILED = 0, 1, 2
INTERRUPTED = 128 + signal.SIGINT
TERMINATED = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, like Ctrl-C's KeyboardInterrupt."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:  # noqa: ARG001
    raise Terminated(f"signal {signal.Signals(signum).name}")


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Within the block, SIGTERM unwinds the stack as Ctrl-C does."""
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_command(name: str, body: Callable[[], int]) -> int:
    """``body``'s status, or 130/143 with one line saying so if it was stopped."""
    with sigterm_unwinds():
        try:
            return body()
        except Terminated:
            print(f"[{name}] terminated (SIGTERM): stopped what was running", file=sys.stderr,
                  flush=True)
            return TERMINATED
        except KeyboardInterrupt:
            print(f"[{name}] interrupted (SIGINT): stopped what was running", file=sys.stderr,
                  flush=True)
            return INTERRUPTED
