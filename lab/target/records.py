"""Reading the record line protocol (version 1) out of a console transcript.

Guests keep their samples in RAM while they measure and print them
afterwards as records (ovm/guests/lib/records.h has the writer)::

    [vm] @ovm1 B <series> n=<count> unit=<unit>     #<crc>
    [vm] @ovm1 S <series> <first index> <v> <v> ... #<crc>
    [vm] @ovm1 E <series> n=<count>                 #<crc>

and the figures that are single values (a summary) as one line each::

    [vm] @ovm1 V <name> <key>=<int> <key>=<int> ... #<crc>

``[vm] `` is OVM's console prefix (absent for a guest without OVM); <crc> is
the CRC-32 of the text from ``@`` to the space before ``#``. Any other line
is foreign (boot messages, progress reports) and only counted. A record
whose CRC does not match is corrupt; a series whose samples do not run
0..n-1 without a gap, or that never ends, is truncated. Either way the
series is reported as rejected and none of its samples are used.

A V record is whole or rejected: a bad checksum, a line cut short, no
pairs, a key that is not ``[a-z_][a-z0-9_]*``, a value that is not a signed
decimal integer or a key given twice rejects it (with the reason, as for a
series). When a VM prints the same name again, its last accepted record
wins: a guest may report a figure as it goes on.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

import pandas as pd

PROTOCOL = "ovm1"
VM_PREFIX = r"^(?:\[(?P<vm>[a-z][a-z0-9_]*)\] )?"
RECORD = re.compile(
    VM_PREFIX + r"(?P<body>@ovm1 (?P<kind>[BSEV]) (?P<series>\S+)(?P<rest>.*?)) "
    r"#(?P<crc>[0-9a-f]{8})\s*$"
)
ANY_RECORD = re.compile(r"@ovm\d")
# A V record too damaged to match RECORD still names itself, for its rejection.
DAMAGED_VALUES = re.compile(VM_PREFIX + r"@ovm1 V (?P<series>\S+)")
VALUE_PAIR = re.compile(r"(?P<key>[a-z_][a-z0-9_]*)=(?P<value>-?[0-9]+)")
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
    # The V records: (vm, name) -> {key: value}, the last accepted one of each.
    values: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)

    def samples(self, series: str, vm: str | None = None) -> pd.DataFrame:
        """The samples of one series (of one VM, if several VMs report the same name)."""
        matches = [
            frame for (frame_vm, name), frame in self.series.items()
            if name == series and (vm is None or frame_vm == vm)
        ]
        if not matches:
            raise KeyError(f"no complete series {series!r}" + (f" from VM {vm!r}" if vm else ""))
        return pd.concat(matches, ignore_index=True)

    def values_of(self, name: str, vm: str | None = None) -> dict[str, int]:
        """The values of one V record (of one VM; without ``vm`` the name must be one VM's)."""
        matches = {
            frame_vm: values for (frame_vm, record), values in self.values.items()
            if record == name and (vm is None or frame_vm == vm)
        }
        if len(matches) != 1:
            where = f" from VM {vm!r}" if vm is not None else ""
            found = f" (from VMs {sorted(matches)})" if matches else ""
            raise KeyError(f"no single V record {name!r}{where}{found}")
        return next(iter(matches.values()))


def values_line(vm: str, name: str) -> str:
    """A regex for the line of a VM's V record ``name``, whole or not: the parser judges it."""
    return rf"^\[{re.escape(vm)}\] @ovm1 V {re.escape(name)} "


def _values(rest: str) -> tuple[dict[str, int], str | None]:
    """A V record's pairs, or why it has none to give."""
    values: dict[str, int] = {}
    for item in rest.split():
        pair = VALUE_PAIR.fullmatch(item)
        if not pair:
            return {}, f"{item!r} is not <key>=<integer>"
        if pair["key"] in values:
            return {}, f"key {pair['key']!r} given twice"
        values[pair["key"]] = int(pair["value"])
    return values, None if values else "no values"


def _fields(rest: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in rest.split() if "=" in item)


def parse_records(text: str) -> ParsedRecords:
    open_series: dict[tuple[str, str], _Series] = {}
    done: list[_Series] = []
    value_records: dict[tuple[str, str], dict[str, int]] = {}
    values_rejected: list[Rejected] = []
    orphans: dict[tuple[str, str], str] = {}  # series seen without their begin: why
    foreign = corrupt = 0

    for line in text.splitlines():
        match = RECORD.match(line)
        if not match:
            if ANY_RECORD.search(line):
                corrupt += 1  # a record, but not well formed: cut, or noise in it
                damaged = DAMAGED_VALUES.match(line)
                if damaged:
                    values_rejected.append(Rejected(damaged["vm"] or "", damaged["series"],
                                                    "not a whole V record (cut or garbled)"))
            else:
                foreign += 1
            continue
        key = (match["vm"] or "", match["series"])
        intact = zlib.crc32(match["body"].encode()) == int(match["crc"], 16)
        if match["kind"] == "V":
            if not intact:
                corrupt += 1
            _read_values(match, intact, value_records, values_rejected)
            continue
        if not intact:
            corrupt += 1
            if key in open_series:
                open_series[key].problem = "a record failed its checksum"
            continue
        kind, rest = match["kind"], match["rest"]
        if kind == "B":
            if key in open_series:
                open_series[key].problem = open_series[key].problem or "restarted before its end"
                done.append(open_series.pop(key))
            fields = _fields(rest)
            expected = _integer(fields.pop("n", ""))
            opened = _Series(key[0], key[1], -1 if expected is None else expected, fields)
            if expected is None or expected < 0:
                opened.problem = f"a begin record without a count (n={fields.get('n', '')!r})"
            open_series[key] = opened
        elif key not in open_series:
            corrupt += 1
            orphans.setdefault(key, f"{'samples' if kind == 'S' else 'an end'} without a "
                                    "begin record (its begin line was lost)")
        elif kind == "S":
            _add_samples(open_series[key], rest)
        else:
            current = open_series.pop(key)
            current.ended = True
            count = _integer(_fields(rest).get("n", ""))
            if count != len(current.values):
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
    rejected += [Rejected(vm, name, why) for (vm, name), why in orphans.items()]
    return ParsedRecords(complete, meta, rejected + values_rejected, foreign, corrupt, value_records)


def _integer(text: str) -> int | None:
    """A signed decimal integer, or None: a record's numbers are never trusted to be one."""
    return int(text) if re.fullmatch(r"-?[0-9]{1,18}", text) else None


def _add_samples(current: _Series, rest: str) -> None:
    """A sample record's values onto its series, or the reason the series is rejected."""
    first, *texts = rest.split() or [""]
    index = _integer(first)
    values = [_integer(text) for text in texts]
    if index is None:
        current.problem = current.problem or f"a sample record without its index ({first!r})"
    elif any(value is None for value in values):
        bad = next(text for text, value in zip(texts, values) if value is None)
        current.problem = current.problem or f"a sample that is not an integer ({bad[:20]!r})"
    elif index != len(current.values):
        current.problem = current.problem or (
            f"samples jump from {len(current.values)} to {index}")
    current.values.extend(value for value in values if value is not None)


def _read_values(match: re.Match[str], intact: bool,
                 values: dict[tuple[str, str], dict[str, int]], rejected: list[Rejected]) -> None:
    """Keep a V record's values (replacing the VM's earlier ones of that name), or reject it."""
    vm, name = match["vm"] or "", match["series"]
    read, problem = _values(match["rest"]) if intact else ({}, "a record failed its checksum")
    if problem:
        rejected.append(Rejected(vm, name, problem))
    else:
        values[(vm, name)] = read
