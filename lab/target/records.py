"""Reading the record line protocol (version 1) out of a console transcript.

Guests keep their samples in RAM while they measure and print them
afterwards as records (ovm/guests/lib/records.h has the writer)::

    [vm] @ovm1 B <series> n=<count> unit=<unit>     #<crc>
    [vm] @ovm1 S <series> <first index> <v> <v> ... #<crc>
    [vm] @ovm1 E <series> n=<count>                 #<crc>

``[vm] `` is OVM's console prefix (absent for a guest without OVM); <crc> is
the CRC-32 of the text from ``@`` to the space before ``#``. Any other line
is foreign (boot messages, progress reports) and only counted. A record
whose CRC does not match is corrupt; a series whose samples do not run
0..n-1 without a gap, or that never ends, is truncated. Either way the
series is reported as rejected and none of its samples are used.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

import pandas as pd

PROTOCOL = "ovm1"
RECORD = re.compile(
    r"^(?:\[(?P<vm>[a-z][a-z0-9_]*)\] )?(?P<body>@ovm1 (?P<kind>[BSE]) (?P<series>\S+)(?P<rest>.*?)) "
    r"#(?P<crc>[0-9a-f]{8})\s*$"
)
ANY_RECORD = re.compile(r"@ovm\d")
SAMPLE_COLUMNS = ["vm", "series", "index", "value"]


@dataclass
class _Series:
    vm: str
    name: str
    expected: int
    meta: dict[str, str]
    values: list[int] = field(default_factory=list)
    problem: str | None = None
    ended: bool = False


@dataclass(frozen=True)
class Rejected:
    vm: str
    series: str
    reason: str


@dataclass
class ParsedRecords:
    """Complete series as DataFrames (columns vm, series, index, value), and what was not."""

    series: dict[tuple[str, str], pd.DataFrame]
    meta: dict[tuple[str, str], dict[str, str]]
    rejected: list[Rejected]
    foreign_lines: int
    corrupt_lines: int

    def samples(self, series: str, vm: str | None = None) -> pd.DataFrame:
        """The samples of one series (of one VM, if several VMs report the same name)."""
        matches = [
            frame for (frame_vm, name), frame in self.series.items()
            if name == series and (vm is None or frame_vm == vm)
        ]
        if not matches:
            raise KeyError(f"no complete series {series!r}" + (f" from VM {vm!r}" if vm else ""))
        return pd.concat(matches, ignore_index=True)


def _fields(rest: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in rest.split() if "=" in item)


def parse_records(text: str) -> ParsedRecords:
    open_series: dict[tuple[str, str], _Series] = {}
    done: list[_Series] = []
    foreign = corrupt = 0

    for line in text.splitlines():
        match = RECORD.match(line)
        if not match:
            if ANY_RECORD.search(line):
                corrupt += 1  # a record, but not well formed: cut, or noise in it
            else:
                foreign += 1
            continue
        if zlib.crc32(match["body"].encode()) != int(match["crc"], 16):
            corrupt += 1
            key = (match["vm"] or "", match["series"])
            if key in open_series:
                open_series[key].problem = "a record failed its checksum"
            continue
        key = (match["vm"] or "", match["series"])
        kind, rest = match["kind"], match["rest"]
        if kind == "B":
            if key in open_series:
                open_series[key].problem = open_series[key].problem or "restarted before its end"
                done.append(open_series.pop(key))
            fields = _fields(rest)
            expected = int(fields.pop("n", "-1"))
            open_series[key] = _Series(key[0], key[1], expected, fields)
        elif key not in open_series:
            corrupt += 1
        elif kind == "S":
            current = open_series[key]
            first, *values = rest.split()
            if int(first) != len(current.values):
                current.problem = current.problem or (
                    f"samples jump from {len(current.values)} to {first}"
                )
            current.values.extend(int(v) for v in values)
        else:
            current = open_series.pop(key)
            current.ended = True
            if int(_fields(rest).get("n", "-1")) != len(current.values):
                current.problem = current.problem or (
                    f"{len(current.values)} samples where the end says {_fields(rest).get('n')}"
                )
            done.append(current)
    for unfinished in open_series.values():
        unfinished.problem = unfinished.problem or "no end record (truncated)"
        done.append(unfinished)

    complete: dict[tuple[str, str], pd.DataFrame] = {}
    meta: dict[tuple[str, str], dict[str, str]] = {}
    rejected = []
    for series in done:
        if series.problem is None and len(series.values) != series.expected:
            series.problem = f"{len(series.values)} samples where the header says {series.expected}"
        if series.problem:
            rejected.append(Rejected(series.vm, series.name, series.problem))
            continue
        key = (series.vm, series.name)
        complete[key] = pd.DataFrame({
            "vm": series.vm,
            "series": series.name,
            "index": range(len(series.values)),
            "value": series.values,
        }, columns=SAMPLE_COLUMNS)
        meta[key] = series.meta
    return ParsedRecords(complete, meta, rejected, foreign, corrupt)
