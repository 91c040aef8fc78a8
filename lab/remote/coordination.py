"""Talking to a labgrid coordinator: places, matches, tags, locks and reservations.

labgrid (26.x, gRPC coordinator) keeps places and reservations; a client is
``labgrid-client -x HOST:PORT``. This module's ``LabClient`` runs those
commands for the whole lab (the lab's tests, the parallel runner
``lab.parallel``, a run's placement ``lab.remote.placement`` and board health
``lab.remote.health_ledger``), and it writes the two configuration files of a networked
board: the exporter's (what a machine offers) and the client's environment
(how a test drives a place).

Who a client is: the coordinator knows a client as ``host/user`` (labgrid takes
them from ``LG_HOSTNAME``/``LG_USERNAME``, else the machine's). A place is
locked by ``acquire`` for that name, and a reservation is owned by it, so two
workers of one user on one machine (pytest workers, the parallel runner's
workers) are told apart by giving each its own ``user`` here; that is what
keeps them off each other's board. labgrid leaves this to its users.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

CLIENT_TIMEOUT_S = 30.0
CALL_MIN_S = 2.0  # the least time one call is given when a deadline is near
RESERVATION_TIMEOUT_S = 300.0
WAIT_SLICE_S = 5.0  # a waiting client looks at who holds its place this often

# What labgrid-client says when the coordinator does not answer.
UNREACHABLE = re.compile(r"Could not connect to coordinator|coordinator is unavailable|"
                         r"failed to connect to all addresses", re.IGNORECASE)
# The LG_ variables a labgrid-client inherits: who this process is, how it reaches
# the coordinator. The others (LG_PLACE, LG_TOKEN, LG_ENV, ...) would change what a
# call acts on; a call names its place itself.
INHERITED = frozenset({"LG_HOSTNAME", "LG_USERNAME", "LG_PROXY"})


def labgrid_tool(name: str) -> str:
    """The labgrid command installed beside this Python (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


def parse_tags(pairs: Iterable[str]) -> dict[str, str]:
    """``["board=zc702", "health=good"]`` (or ``"board=zc702 health=good".split()``) as a mapping."""
    return dict(pair.split("=", 1) for pair in pairs)


def format_tags(tags: Mapping[str, str]) -> str:
    """A mapping of tags as labgrid writes them in a filter: ``board=zc702 health=good``."""
    return " ".join(f"{key}={value}" for key, value in tags.items())


def call_timeout(deadline: float) -> float:
    """The time one call may take when all should be done by ``deadline`` (monotonic)."""
    return min(CLIENT_TIMEOUT_S, max(CALL_MIN_S, deadline - time.monotonic()))


class ClientError(Exception):
    """A labgrid-client command failed; the message has the command and what it said.

    ``returncode`` is None when the command did not finish in time; ``unreachable``
    when the coordinator did not answer (no connection, or no answer in time).
    """

    def __init__(self, command: list[str], output: str, returncode: int | None, *,
                 unreachable: bool | None = None) -> None:
        self.command = command
        self.output = output.strip()
        self.returncode = returncode
        self.unreachable = (returncode is None or bool(UNREACHABLE.search(output))
                            if unreachable is None else unreachable)
        status = "timed out" if returncode is None else f"exit status {returncode}"
        shown = [Path(command[0]).name, *command[1:]] if command else []
        super().__init__(f"{shlex.join(shown)}: {status}: {self.output}")

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


class NotAllocated(ClientError):
    """A reservation was not allocated a place within the time it was waited for."""


@dataclass(frozen=True)
class Reservation:
    token: str
    owner: str
    state: str  # waiting, allocated, acquired, expired, invalid
    filters: str
    place: str | None  # the allocated place, once allocated

    @property
    def allocated_place(self) -> str:
        """The place of a reservation that has one (``holding`` yields only such)."""
        if self.place is None:
            raise ValueError(f"reservation {self.token} ({self.state}) has no place")
        return self.place


@dataclass(frozen=True)
class PlaceInfo:
    """What ``labgrid-client show`` says about a place."""

    name: str
    tags: Mapping[str, str]
    comment: str
    acquired: str | None  # ``host/user`` holding it
    reservation: str | None  # the token of the reservation it is allocated to
    orphaned: tuple[str, ...] = ()  # acquired resources whose exporter is gone


@dataclass(frozen=True)
class LabClient:
    """``labgrid-client`` against one coordinator, as one user.

    Every call may be given its own ``timeout`` (seconds; ``ClientError`` with
    ``timed_out`` when it passes).
    """

    coordinator: str  # HOST:PORT
    user: str | None = None  # LG_USERNAME; None: this process's user (its LG_USERNAME, if set)

    def environ(self) -> dict[str, str]:
        """This process's environment, with the coordinator and user of this client only."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LG_") or k in INHERITED}
        env["LG_COORDINATOR"] = self.coordinator
        if self.user:
            env["LG_USERNAME"] = self.user
        return env

    def run(self, *args: str, place: str | None = None, timeout: float = CLIENT_TIMEOUT_S) -> str:
        command = [labgrid_tool("labgrid-client"), "-x", self.coordinator]
        if place is not None:
            command += ["-p", place]
        command += list(args)
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=self.environ(),
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as expired:
            output = f"{_text(expired.stdout)}{_text(expired.stderr)}\nno answer within {timeout:.1f} s"
            raise ClientError(command, output, None) from None
        if done.returncode != 0:
            raise ClientError(command, done.stdout + done.stderr, done.returncode)
        return done.stdout

    # -- resources and places ---------------------------------------------------
    def resources(self) -> list[str]:
        """Every exported resource as ``exporter/group/class/name``."""
        return [line.strip() for line in self.run("resources").splitlines() if line.strip()]

    def places(self) -> list[str]:
        return [line.strip() for line in self.run("places").splitlines() if line.strip()]

    def create_place(self, place: str) -> None:
        self.run("create", place=place)

    def delete_place(self, place: str) -> None:
        self.run("delete", place=place)

    def add_match(self, place: str, *patterns: str) -> None:
        self.run("add-match", *patterns, place=place)

    def set_tags(self, place: str, tags: Mapping[str, str], *,
                 timeout: float = CLIENT_TIMEOUT_S) -> None:
        """Set these tags (the place's other tags stay; an empty value removes a tag)."""
        self.run("set-tags", *format_tags(tags).split(), place=place, timeout=timeout)

    def set_comment(self, place: str, comment: str) -> None:
        self.run("set-comment", comment, place=place)

    def show(self, place: str, *, timeout: float = CLIENT_TIMEOUT_S) -> PlaceInfo:
        return _place_info(place, self.run("show", place=place, timeout=timeout).splitlines())

    def all_places(self, *, timeout: float = CLIENT_TIMEOUT_S) -> dict[str, PlaceInfo]:
        """Every place, as ``show`` says it, in one call (``places -v``)."""
        found: dict[str, PlaceInfo] = {}
        out = self.run("-v", "places", timeout=timeout)
        for block in re.split(r"^Place '", out, flags=re.MULTILINE)[1:]:
            name, _, rest = block.partition("'")
            found[name] = _place_info(name, rest.splitlines())
        return found

    def acquired_by(self, place: str) -> str | None:
        return self.show(place).acquired

    def acquire(self, place: str, *, timeout: float = CLIENT_TIMEOUT_S) -> None:
        self.run("acquire", place=place, timeout=timeout)

    def release(self, place: str, *, timeout: float = CLIENT_TIMEOUT_S) -> None:
        self.run("release", place=place, timeout=timeout)

    def kick(self, place: str) -> None:
        """Release a place acquired by another client (``release --kick``)."""
        self.run("release", "--kick", place=place)

    def power(self, place: str, action: str, *, timeout: float = CLIENT_TIMEOUT_S) -> str:
        return self.run("power", action, place=place, timeout=timeout).strip()

    # -- reservations -------------------------------------------------------------
    def reserve(self, tags: Mapping[str, str], *, prio: float = 0.0,
                timeout: float = CLIENT_TIMEOUT_S) -> str:
        """Ask for any place with these tags; return the reservation's token at once."""
        out = self.run("reserve", "--shell", "--prio", str(prio), *format_tags(tags).split(),
                       timeout=timeout)
        match = re.search(r"^export LG_TOKEN=(\S+)$", out, re.MULTILINE)
        if not match:
            raise ClientError(["reserve"], out, 0)
        return match[1]

    def reservations(self) -> dict[str, Reservation]:
        found: dict[str, Reservation] = {}
        for block in re.split(r"^Reservation '", self.run("reservations"), flags=re.MULTILINE)[1:]:
            token = block.split("'", 1)[0]
            found[token] = _reservation(token, block)
        return found

    def reservation(self, token: str) -> Reservation:
        try:
            return self.reservations()[token]
        except KeyError:
            raise ClientError(["reservations"], f"no reservation {token} (expired or cancelled)", 1) from None

    def wait(self, token: str, timeout: float = RESERVATION_TIMEOUT_S) -> Reservation:
        """Wait until the reservation is no longer waiting (labgrid polls once a second).

        Returns it as the coordinator last showed it (allocated, or expired or
        invalid); ``NotAllocated`` when ``timeout`` passed first.
        """
        try:
            out = self.run("wait", token, timeout=max(timeout, 0.1))
        except ClientError as error:
            if not error.timed_out:
                raise
            raise NotAllocated(error.command, f"reservation {token} not allocated within "
                               f"{timeout:.1f} s", None, unreachable=False) from None
        shown = re.split(r"^owner: ", out, flags=re.MULTILINE)  # one block a poll, the last one last
        return _reservation(token, "owner: " + shown[-1]) if len(shown) > 1 else self.reservation(token)

    def cancel(self, token: str, *, timeout: float = CLIENT_TIMEOUT_S) -> None:
        self.run("cancel-reservation", token, timeout=timeout)


def _place_info(place: str, lines: list[str]) -> PlaceInfo:
    fields: dict[str, str] = {}
    orphaned = []
    for line in lines:
        if line.startswith("Orphaned resource "):  # labgrid's word for an exporter gone
            orphaned.append(line.split("(", 1)[-1].rstrip("):"))
            continue
        key, separator, value = line.strip().partition(": ")
        if separator and key in ("tags", "comment", "acquired", "reservation"):
            fields.setdefault(key, value.strip())
    tags = fields.get("tags", "")
    acquired = fields.get("acquired")
    return PlaceInfo(place, parse_tags(tags.split(", ")) if tags else {},
                     fields.get("comment", ""),
                     None if acquired in (None, "", "None") else acquired,
                     fields.get("reservation") or None, tuple(orphaned))


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def _reservation(token: str, block: str) -> Reservation:
    return Reservation(token, _field(block, r"owner: (\S+)"), _field(block, r"state: (\S+)"),
                       _field(block, r"filters:\n\s+main: (.*)"),
                       _field(block, r"allocations:\n\s+main: (\S+)") or None)


def _field(block: str, pattern: str) -> str:
    match = re.search(r"^\s*" + pattern + r"$", block, re.MULTILINE)
    return match[1].strip() if match else ""


@contextmanager
def holding(client: LabClient, tags: Mapping[str, str], *,
            timeout: float = RESERVATION_TIMEOUT_S,
            while_waiting: Callable[[str], None] | None = None,
            before_acquire: Callable[[str, float], None] | None = None) -> Iterator[Reservation]:
    """Reserve a place by tags, wait for it, acquire it; cancel and release at the end.

    Yields the reservation, acquired (``place`` is the place's name, ``token``
    what ``LG_TOKEN`` would be). The reservation keeps the place for this client
    from allocation to cancellation: no one else can acquire it in between,
    and waiting reservations are served in order (priority, then age).
    ``timeout`` bounds the whole wait for a place (``NotAllocated`` after it).
    ``while_waiting(token)`` is called every ``WAIT_SLICE_S`` of the wait (to
    say who holds the place, to recover a stale one: ``lab.remote.lease``);
    ``before_acquire(place, deadline)`` once the place is allocated, before it
    is acquired (it may wait, or raise).

    The reservation is cancelled *before* the place is released: the
    coordinator hands a freed place to the next waiting reservation when it
    schedules, which it does on a release but, after a cancellation, only in
    its periodic pass (up to 10 s later in labgrid 26.0).
    """
    deadline = time.monotonic() + timeout
    token = client.reserve(tags, timeout=call_timeout(deadline))
    acquired = None
    try:
        while True:
            left = deadline - time.monotonic()
            try:
                reservation = client.wait(token, min(left, WAIT_SLICE_S) if while_waiting else left)
                break
            except NotAllocated:
                if while_waiting is None or time.monotonic() >= deadline:
                    raise NotAllocated(["wait", token], f"reservation {token} not allocated "
                                       f"within {timeout:.1f} s", None, unreachable=False) from None
                while_waiting(token)
        if reservation.state != "allocated" or not reservation.place:
            raise ClientError(["wait", token], f"reservation {token} is {reservation.state}", 1)
        if before_acquire is not None:
            before_acquire(reservation.place, deadline)
        client.acquire(reservation.place, timeout=call_timeout(deadline))
        acquired = reservation.place
        yield replace(reservation, state="acquired")
    finally:
        try:
            client.cancel(token)
        finally:
            if acquired:
                client.release(acquired)


# -- configuration files ------------------------------------------------------------


@dataclass(frozen=True)
class VirtualBoardPorts:
    """Where a virtual board (``lab.remote.virtual_board``) listens, on 127.0.0.1."""

    group: str  # its resource group in the exporter
    serial_port: int
    power_port: int

    @property
    def power_url(self) -> str:
        return f"http://127.0.0.1:{self.power_port}/power/{{index}}/{{value}}"


def exporter_config(boards: list[VirtualBoardPorts]) -> str:
    """The exporter's resources: one group per virtual board, its serial port and power switch.

    ``NetworkSerialPort``/``NetworkPowerPort`` are exported as they are: the
    exporter only announces them, a client connects to them directly.
    (labgrid renders the file with Jinja2 and ``#`` at a line's start is a
    Jinja statement, hence no comments.)
    """
    data = {
        board.group: {
            "NetworkSerialPort": {"host": "127.0.0.1", "port": board.serial_port,
                                  "protocol": "raw", "speed": 115200},
            "NetworkPowerPort": {"model": "simplerest", "host": board.power_url, "index": 0},
        }
        for board in boards
    }
    return yaml.safe_dump(data, sort_keys=False)


def place_matches(exporter: str, group: str) -> list[str]:
    """A place's match patterns for every resource of one exporter group."""
    return [f"{exporter}/{group}/*"]


def client_env(place: str, coordinator: str, *, ovm_board: str, image: Path | None = None,
               boot_timeout: float = 30.0) -> dict:
    """A labgrid environment for a virtual-board place: OVMStrategy over the network.

    ``SerialDriver`` on the place's ``NetworkSerialPort``, ``NetworkPowerDriver``
    on its ``NetworkPowerPort``, and ``VirtualBoardStrategy`` (``OVMStrategy``
    with ``select_image`` through the board's image slot). ``image`` (the
    board's own) only names it for reports: ``images.ovm`` as in ``env/qemu.yaml``.
    """
    env = {
        "targets": {
            "main": {
                "features": ["qemu", "virtual-board"],
                "resources": {"RemotePlace": {"name": place}},
                "drivers": {
                    "SerialDriver": {},
                    "NetworkPowerDriver": {"delay": 0.5},
                    "VirtualBoardStrategy": {"boot_timeout": boot_timeout},
                },
            },
        },
        "options": {"coordinator_address": coordinator, "ovm_board": ovm_board},
        "imports": ["lab.target.strategy", "lab.remote.virtual_board"],
    }
    if image is not None:
        env["images"] = {"ovm": str(Path(image).resolve())}
    return env


def write_yaml(path: Path, data: Mapping | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(dict(data), sort_keys=False))
    return path

