"""A path's profile: its visits' instruction counts in OVM, per function, as a table and JSON."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .symbols import Place
from .trace import Visit


class NoVisits(Exception):
    """The trace holds no complete visit of the path."""


@dataclass(frozen=True)
class Profile:
    path: str
    visits: int
    # Instructions in OVM per visit.
    minimum: int
    mean: float
    maximum: int
    # Instructions per visit, on average, in each function (the column sums to `mean`).
    per_function: dict[Place, float]
    other_visits: int  # complete visits of other paths in the same trace

    def as_dict(self, provenance: Mapping[str, Any]) -> dict[str, Any]:
        return {
            **provenance,
            "path": self.path,
            "visits": self.visits,
            "instructions": {"min": self.minimum, "mean": round(self.mean, 1),
                             "max": self.maximum},
            "functions": [{"image": place.image, "function": place.function,
                           "instructions_per_visit": round(count, 1)}
                          for place, count in self.per_function.items()],
            "other_visits": self.other_visits,
        }


def profile(path: str, visits: Iterable[Visit], takes: Callable[[Visit], bool]) -> Profile:
    chosen: list[Visit] = []
    others = 0
    for visit in visits:
        if takes(visit):
            chosen.append(visit)
        else:
            others += 1
    if not chosen:
        raise NoVisits(f"no complete {path} visit in the trace ({others} visits of other paths): "
                       "trace more instructions (--instructions)")
    totals: Counter[Place] = Counter()
    for visit in chosen:
        totals.update(visit.functions)
    counts = [visit.instructions for visit in chosen]
    n = len(chosen)
    return Profile(path, n, min(counts), sum(counts) / n, max(counts),
                   {place: total / n for place, total in totals.most_common()}, others)


def table(result: Profile, heading: str) -> str:
    lines = [heading,
             f"{result.visits} visits of {result.path}; instructions in OVM per visit "
             f"min/mean/max {result.minimum}/{result.mean:.1f}/{result.maximum}",
             f"{'instructions':>12}  {'share':>6}  function"]
    for place, count in result.per_function.items():
        lines.append(f"{count:>12.1f}  {100 * count / result.mean:>5.1f}%  {place}")
    return "\n".join(lines) + "\n"
