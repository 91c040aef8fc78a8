"""The record line protocol: the guests' C writer against the lab's parser, and
the parser against garbage, interleaving, truncation and corruption; series
and single values (V records) alike."""

from __future__ import annotations

import ctypes
import subprocess
import zlib
from pathlib import Path

import pytest

from lab.target.records import parse_records

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def writer(tmp_path_factory) -> ctypes.CDLL:
    library = tmp_path_factory.mktemp("records") / "librecords.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O1", "-std=c11", "-Wall", "-Wextra", "-Werror",
         "-I", str(REPO / "ovm/guests/lib"), "-I", str(REPO / "ovm/lib/inc"),
         "-I", str(REPO / "ovm/include"),
         str(REPO / "ovm/guests/lib/records.c"), str(REPO / "ovm/lib/format.c"),
         str(Path(__file__).with_name("record_writer_host.c")), "-o", str(library)],
        check=True,
    )
    lib = ctypes.CDLL(str(library))
    lib.host_output.restype = ctypes.c_char_p
    return lib


class RecordValue(ctypes.Structure):
    """ovm/guests/lib/records.h's struct record_value."""

    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_int32)]


def write_values(writer: ctypes.CDLL, name: str, values: dict[str, int], vm: str = "srt") -> str:
    writer.host_reset()
    pairs = (RecordValue * len(values))(*(RecordValue(k.encode(), v) for k, v in values.items()))
    writer.record_values(name.encode(), pairs, len(values))
    return "".join(f"[{vm}] {line}\n" for line in writer.host_output().decode().splitlines())


def record(body: str, vm: str = "srt") -> str:
    """A well-formed record line, checksummed as a guest would."""
    return f"[{vm}] {body} #{zlib.crc32(body.encode()):08x}"


def write_series(writer: ctypes.CDLL, series: str, values: list[int], vm: str = "hrt") -> str:
    writer.host_reset()
    array = (ctypes.c_uint32 * len(values))(*values)
    writer.record_series(series.encode(), b"ticks", array, len(values))
    return "".join(f"[{vm}] {line}\n" for line in writer.host_output().decode().splitlines())


def test_c_crc_is_zlib_crc32(writer):
    writer.record_crc32.restype = ctypes.c_uint32
    text = b"@ovm1 B irq_latency.HRT n=1000 unit=ticks"
    assert writer.record_crc32(text, len(text)) == zlib.crc32(text)


def test_written_series_reads_back_exactly(writer):
    values = [14, 14, 1579, 0, 4294967295] + list(range(100))
    parsed = parse_records(write_series(writer, "irq_latency.HRT", values))
    frame = parsed.samples("irq_latency.HRT", vm="hrt")
    assert frame["value"].tolist() == values
    assert frame["index"].tolist() == list(range(len(values)))
    assert parsed.meta[("hrt", "irq_latency.HRT")] == {"unit": "ticks"}
    assert (parsed.rejected, parsed.foreign_lines, parsed.corrupt_lines) == ([], 0, 0)


def test_empty_series_is_complete(writer):
    parsed = parse_records(write_series(writer, "nothing", []))
    assert parsed.samples("nothing").empty
    assert parsed.rejected == []


def test_foreign_and_interleaved_lines_are_counted_and_ignored(writer):
    a = write_series(writer, "a", list(range(40)), vm="srt").splitlines()
    b = write_series(writer, "b", list(range(100, 140)), vm="nrt").splitlines()
    noise = ["[ovm] core0: scheduling 2 vCPU(s)", "\x00\xff garbage \x1b[2J", "", "[nrt] progress 1"]
    mixed = []
    for i in range(max(len(a), len(b))):
        mixed += a[i:i + 1] + noise[i % len(noise):i % len(noise) + 1] + b[i:i + 1]
    parsed = parse_records("\n".join(mixed) + "\n")
    assert parsed.samples("a")["value"].tolist() == list(range(40))
    assert parsed.samples("b")["value"].tolist() == list(range(100, 140))
    assert parsed.foreign_lines == sum(1 for line in mixed if "@ovm1" not in line)
    assert parsed.rejected == []


def test_same_series_from_two_vms_stays_apart(writer):
    text = write_series(writer, "lat", [1, 2], vm="srt") + write_series(writer, "lat", [3], vm="nrt")
    parsed = parse_records(text)
    assert parsed.samples("lat", vm="srt")["value"].tolist() == [1, 2]
    assert parsed.samples("lat", vm="nrt")["value"].tolist() == [3]
    assert len(parsed.samples("lat")) == 3


def test_a_flipped_digit_is_caught_by_the_checksum(writer):
    lines = write_series(writer, "lat", list(range(40))).splitlines()
    lines[1] = lines[1].replace(" 7 ", " 8 ", 1)
    parsed = parse_records("\n".join(lines))
    assert parsed.corrupt_lines == 1
    assert [(r.series, r.reason) for r in parsed.rejected] == [("lat", "a record failed its checksum")]
    with pytest.raises(KeyError):
        parsed.samples("lat")


def test_a_lost_line_is_a_gap(writer):
    lines = write_series(writer, "lat", list(range(40))).splitlines()
    del lines[2]
    parsed = parse_records("\n".join(lines))
    assert [r.reason for r in parsed.rejected] == ["samples jump from 16 to 32"]


def test_a_cut_off_series_is_truncated(writer):
    lines = write_series(writer, "lat", list(range(40))).splitlines()
    parsed = parse_records("\n".join(lines[:-1]))
    assert [r.reason for r in parsed.rejected] == ["no end record (truncated)"]


def test_a_line_cut_in_the_middle_is_corrupt_not_foreign(writer):
    lines = write_series(writer, "lat", list(range(40))).splitlines()
    lines[1] = lines[1][:30]
    parsed = parse_records("\n".join(lines))
    assert parsed.corrupt_lines == 1
    assert parsed.foreign_lines == 0
    assert parsed.rejected[0].reason == "samples jump from 0 to 16"


def test_end_count_disagreeing_with_the_header_is_rejected():
    def line(body: str) -> str:
        return f"{body} #{zlib.crc32(body.encode()):08x}"

    text = "\n".join([line("@ovm1 B x n=3 unit=ticks"), line("@ovm1 S x 0 1 2"),
                      line("@ovm1 E x n=2")])
    parsed = parse_records(text)
    assert [r.reason for r in parsed.rejected] == ["2 samples where the header says 3"]


def test_c_record_value_is_what_the_test_passes(writer):
    assert writer.host_record_value_size() == ctypes.sizeof(RecordValue)


def test_written_values_read_back_exactly(writer):
    figures = {"jobs": 10000, "misses": 0, "status": -4, "low": -2**31, "high": 2**31 - 1}
    text = write_values(writer, "deadline", figures)
    assert text.startswith("[srt] @ovm1 V deadline jobs=10000 misses=0 status=-4 low=-2147483648 ")
    parsed = parse_records(text)
    assert parsed.values == {("srt", "deadline"): figures}
    assert parsed.values_of("deadline") == parsed.values_of("deadline", vm="srt") == figures
    assert (parsed.rejected, parsed.foreign_lines, parsed.corrupt_lines) == ([], 0, 0)


def test_a_values_line_too_long_for_the_writer_is_rejected_not_cut(writer):
    figures = {f"figure_{i}": 1_000_000 + i for i in range(20)}
    parsed = parse_records(write_values(writer, "summary", figures))
    assert parsed.values == {}
    assert parsed.corrupt_lines == 1
    assert [(r.series, r.reason) for r in parsed.rejected] == [
        ("summary", "not a whole V record (cut or garbled)")]


def test_values_beside_series_and_prose_stay_apart(writer):
    text = (write_series(writer, "lat", [1, 2], vm="srt") + "[srt] 100 jobs: prose\n"
            + write_values(writer, "lat", {"jobs": 100}, vm="srt"))
    parsed = parse_records(text)
    assert parsed.samples("lat")["value"].tolist() == [1, 2]
    assert parsed.values_of("lat") == {"jobs": 100}
    assert parsed.foreign_lines == 1


def test_the_last_values_of_a_name_win_and_vms_stay_apart():
    parsed = parse_records("\n".join([
        record("@ovm1 V console lines=1", vm="quiet"), record("@ovm1 V console lines=2", vm="quiet"),
        record("@ovm1 V console lines=7", vm="chatty")]))
    assert parsed.values_of("console", vm="quiet") == {"lines": 2}
    assert parsed.values_of("console", vm="chatty") == {"lines": 7}
    assert parsed.rejected == []
    with pytest.raises(KeyError, match="from VMs"):
        parsed.values_of("console")
    with pytest.raises(KeyError):
        parsed.values_of("console", vm="host")


@pytest.mark.parametrize(("line", "reason"), [
    (record("@ovm1 V d jobs=1")[:-1] + "0", "a record failed its checksum"),
    (record("@ovm1 V d jobs=1.5"), "'jobs=1.5' is not <key>=<integer>"),
    (record("@ovm1 V d jobs=0x10"), "'jobs=0x10' is not <key>=<integer>"),
    (record("@ovm1 V d Jobs=1"), "'Jobs=1' is not <key>=<integer>"),
    (record("@ovm1 V d jobs"), "'jobs' is not <key>=<integer>"),
    (record("@ovm1 V d jobs=1 jobs=2"), "key 'jobs' given twice"),
    (record("@ovm1 V d"), "no values"),
    ("[srt] @ovm1 V d jobs=1", "not a whole V record (cut or garbled)"),
])
def test_a_malformed_values_record_is_rejected_with_its_reason(line, reason):
    parsed = parse_records(line + "\n" + record("@ovm1 V other ok=1"))
    assert [(r.vm, r.series, r.reason) for r in parsed.rejected] == [("srt", "d", reason)]
    assert parsed.values == {("srt", "other"): {"ok": 1}}


def test_a_rejected_repeat_leaves_the_earlier_values_but_is_reported():
    parsed = parse_records("\n".join([record("@ovm1 V d jobs=1"), record("@ovm1 V d jobs=x")]))
    assert parsed.values_of("d") == {"jobs": 1}
    assert [r.reason for r in parsed.rejected] == ["'jobs=x' is not <key>=<integer>"]


def test_a_megabyte_of_random_bytes_is_counted_never_raised() -> None:
    import random

    noise = random.Random(1234).randbytes(1 << 20).decode("utf-8", errors="replace")
    # Record-looking fragments scattered through the noise, most of them broken.
    fragments = [record("@ovm1 B lat n=3 unit=ticks"), "@ovm1 S lat 0 1 2", record("@ovm1 E x"),
                 record("@ovm1 V v a=1"), "[srt] @ovm1 V v a=zz #00000000"]
    text = noise + "\n" + "\n".join(fragments * 50) + "\n" + noise
    parsed = parse_records(text)
    assert parsed.foreign_lines > 0
    assert all(rejected.reason for rejected in parsed.rejected)


@pytest.mark.parametrize("lines, series, reason", [
    ([record("@ovm1 B lat n=abc unit=ticks"), record("@ovm1 S lat 0 5"), record("@ovm1 E lat n=1")],
     "lat", "without a count"),
    ([record("@ovm1 B lat n=1 unit=ticks"), record("@ovm1 S lat"), record("@ovm1 E lat n=1")],
     "lat", "without its index"),
    ([record("@ovm1 B lat n=1 unit=ticks"), record("@ovm1 S lat x 5"), record("@ovm1 E lat n=1")],
     "lat", "without its index"),
    ([record("@ovm1 B lat n=2 unit=ticks"), record("@ovm1 S lat 0 5 five"),
      record("@ovm1 E lat n=2")], "lat", "not an integer"),
    ([record("@ovm1 B lat n=1 unit=ticks"), record("@ovm1 S lat 0 5"), record("@ovm1 E lat n=")],
     "lat", "where the end says"),
    ([record("@ovm1 B lat n=1 unit=ticks"), record("@ovm1 S lat 0 99999999999999999999999"),
      record("@ovm1 E lat n=1")], "lat", "not an integer"),
], ids=["count", "no-index", "index-not-int", "sample-not-int", "end-count", "huge"])
def test_checksum_valid_but_malformed_records_are_rejected_with_a_reason(
        lines: list[str], series: str, reason: str) -> None:
    parsed = parse_records("\n".join(lines) + "\n")
    assert not parsed.series
    assert [(r.series, reason in r.reason) for r in parsed.rejected] == [(series, True)]


def test_a_series_whose_begin_line_was_lost_is_reported() -> None:
    lines = [record("@ovm1 S lat 0 1 2"), record("@ovm1 E lat n=3"),
             record("@ovm1 B ok n=1 unit=ticks"), record("@ovm1 S ok 0 7"), record("@ovm1 E ok n=1")]
    parsed = parse_records("\n".join(lines) + "\n")
    assert list(parsed.samples("ok")["value"]) == [7]
    assert [(r.vm, r.series) for r in parsed.rejected] == [("srt", "lat")]
    assert "begin" in parsed.rejected[0].reason and "lost" in parsed.rejected[0].reason
