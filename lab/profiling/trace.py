"""QEMU's exec log, one instruction a line (``-singlestep -d nochain``), cut into OVM visits.

A visit is one core's consecutive instructions in OVM (its image or its
shim), from the first after a guest instruction to the last before the next
one: an entry through the shim or the monitor's vectors and everything OVM did
until it returned to a guest. Visits cut off by the start or end of the trace
are left out: their counts would be short.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .symbols import Place, Symbols

# "Trace <cpu>: <host pointer> [<cs_base>/<pc>/<flags>/<cflags>] <symbol>" (QEMU 7.2).
EXEC_LINE = re.compile(rb"^Trace (\d+): 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")


# What every entry passes before its handler: a shim vector, the monitor's vector table.
ENTRY_STEPS = frozenset({"monitor_vectors", *(f"vector {slot}" for slot in range(8))})
ROUTE_LENGTH = 3


class TraceError(Exception):
    """The trace is not QEMU's one-instruction exec log."""


@dataclass
class Visit:
    core: int
    # The guest the core ran before the visit and after it (their images).
    came_from: str
    went_to: str = ""
    instructions: int = 0
    functions: Counter[Place] = field(default_factory=Counter)
    # The functions it went through first, in order: how it entered OVM.
    route: list[str] = field(default_factory=list)

    def passes(self, function: str) -> bool:
        return any(place.function == function for place in self.functions)

    def entered_by(self, handler: str) -> bool:
        """Whether OVM's first handler on the visit (past the shim and the vector table)."""
        return next((f for f in self.route if f not in ENTRY_STEPS), None) == handler


def instructions(lines: Iterable[bytes]) -> Iterator[tuple[int, int]]:
    """(core, pc) of each exec line; other lines (QEMU's notes) are skipped."""
    seen_any = False
    for line in lines:
        match = EXEC_LINE.match(line)
        if match:
            seen_any = True
            yield int(match[1]), int(match[2], 16)
    if not seen_any:
        raise TraceError("no exec lines (was the trace taken with -d exec,nochain -singlestep?)")


def visits(trace: Iterable[tuple[int, int]], symbols: Symbols) -> Iterator[Visit]:
    """Complete visits, in the order they end."""
    # Per core: the guest image it is in (None until its first guest instruction) and
    # the visit under way.
    guest: dict[int, str | None] = {}
    open_visit: dict[int, Visit] = {}
    for core, pc in trace:
        place = symbols.lookup(pc)
        if place.in_ovm:
            if guest.get(core) is None:
                continue  # the trace began inside OVM: this visit is cut off
            visit = open_visit.get(core)
            if visit is None:
                visit = open_visit[core] = Visit(core, came_from=guest[core] or "")
            visit.instructions += 1
            visit.functions[place] += 1
            if len(visit.route) < ROUTE_LENGTH and place.function not in visit.route:
                visit.route.append(place.function)
            continue
        guest[core] = place.image
        visit = open_visit.pop(core, None)
        if visit is not None:
            visit.went_to = place.image
            yield visit
