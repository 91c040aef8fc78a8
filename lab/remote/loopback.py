"""The loopback lab: a labgrid coordinator, virtual boards and an exporter on 127.0.0.1.

Everything a distributed lab has, on one machine, for testing the lab itself
(``lab.remote.virtual_board`` says what a virtual board is and is not). Every
process runs in its own process group with its log in a directory of the
caller's, on ports the kernel picked, and ``stop`` (or leaving the
``LoopbackLab`` context) kills each group, also after a failure.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from lab.paths import QEMU_ENV, REPO_ROOT

from .coordination import (
    LabClient,
    VirtualBoardPorts,
    exporter_config,
    labgrid_tool,
    place_matches,
    write_yaml,
)

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
LOG_TAIL_LINES = 30


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Service:
    """One background process of the loopback lab, in its own process group."""

    name: str
    process: subprocess.Popen
    log: Path
    offset: int = 0  # where this process's part of the log begins (logs are appended to)

    @classmethod
    def start(cls, name: str, command: Sequence[str], log_dir: Path, *, cwd: Path | None = None,
              env: Mapping[str, str] | None = None) -> "Service":
        log_dir.mkdir(parents=True, exist_ok=True)
        log = log_dir / f"{name}.log"
        with log.open("ab") as out:
            offset = out.tell()
            process = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True,
                                       env=dict(env) if env is not None else None)
        return cls(name, process, log, offset)

    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        """What this process wrote to its log (not an earlier process of the same name's)."""
        try:
            with self.log.open("rb") as log:
                log.seek(self.offset)
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL to the process group, as a crash would end it."""
        _signal_group(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def fail(self, what: str) -> RuntimeError:
        state = "running" if self.alive() else f"exited with status {self.process.returncode}"
        return RuntimeError(f"{self.name} ({state}): {what}; its log {self.log} ends:\n{self.tail()}")

    def wait_for(self, predicate, what: str, timeout: float = START_TIMEOUT_S):
        """Poll ``predicate`` until it returns something true, while the process lives."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise self.fail(f"exited while waiting for {what}")
            try:
                value = predicate()
                if value:
                    return value
            except Exception as error:  # noqa: BLE001 - reported if it never succeeds
                last_error = error
            time.sleep(0.1)
        detail = f" (last error: {last_error})" if last_error else ""
        raise self.fail(f"{what}: not within {timeout:.0f} s{detail}")

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL after STOP_TIMEOUT_S."""
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
        # whatever is left in the group (a QEMU of a killed virtual board)
        _signal_group(self.process.pid, signal.SIGKILL)
        self.process.wait()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def start_coordinator(log_dir: Path, attempts: int = 3, port: int = 0) -> tuple[Service, str]:
    """``labgrid-coordinator`` on a free loopback port (or ``port``, to restart one); its state
    (places.yaml) in its own directory. A new coordinator (no ``port``) starts with no
    places: an earlier lab's in the same directory would clash with this lab's."""
    workdir = log_dir / "coordinator"
    workdir.mkdir(parents=True, exist_ok=True)
    if not port:
        for state in ("places.yaml", "resources.yaml"):
            (workdir / state).unlink(missing_ok=True)
    error: RuntimeError | None = None
    for _ in range(attempts):
        # another process may take a free port first: then try another
        chosen = port or free_loopback_port()
        address = f"127.0.0.1:{chosen}"
        service = Service.start("coordinator", [labgrid_tool("labgrid-coordinator"), "-l", address],
                                log_dir, cwd=workdir)
        try:
            service.wait_for(partial(_listening, chosen), f"the coordinator listening on {address}")
            return service, address
        except RuntimeError as failed:
            service.stop()
            error = failed
    raise error or RuntimeError("no attempt to start the coordinator (attempts < 1)")


def start_virtual_board(group: str, image: Path, log_dir: Path, lg_env: Path) -> Service:
    """A virtual board on ports of its own choosing (``board_ports`` reads them once it is up)."""
    return Service.start(group, [sys.executable, "-m", "lab.remote.virtual_board", "--image", str(image),
                                 "--serial-port", "0", "--power-port", "0", "--lg-env", str(lg_env)],
                         log_dir, cwd=REPO_ROOT)


def board_ports(service: Service) -> VirtualBoardPorts:
    """The ports a virtual board printed in its READY line (waits for it)."""
    def ready():
        match = re.search(r"^READY (\{.*\})$", service.output(), re.MULTILINE)
        return json.loads(match[1]) if match else None

    ports = service.wait_for(ready, "the virtual board's READY line")
    return VirtualBoardPorts(service.name, ports["serial_port"], ports["power_port"])


def start_exporter(coordinator: str, name: str, boards: list[VirtualBoardPorts],
                   log_dir: Path) -> Service:
    """``labgrid-exporter`` announcing the boards' resources; returns once the coordinator lists them."""
    config = write_yaml(log_dir / f"{name}.yaml", exporter_config(boards))
    service = Service.start(name, [labgrid_tool("labgrid-exporter"), "-c", coordinator, "-n", name,
                                   "--hostname", "127.0.0.1", str(config)], log_dir)
    client = LabClient(coordinator)
    wanted = {f"{name}/{board.group}/{cls}" for board in boards
              for cls in ("NetworkSerialPort", "NetworkPowerPort")}

    def exported():
        listed = {"/".join(path.split("/")[:3]) for path in client.resources()}
        return wanted <= listed

    service.wait_for(exported, f"the coordinator listing {name}'s resources")
    return service


@dataclass
class LoopbackLab:
    """Coordinator, ``boards`` virtual boards, one exporter and a place per board, tagged.

    Place ``<prefix>-<i>`` (i from 1) holds board ``i``'s serial port and power
    switch and has the tags ``tags`` plus ``slot=<i>``. Use as a context
    manager: leaving it stops every process.
    """

    log_dir: Path
    image: Path
    boards: int = 2
    lg_env: Path = QEMU_ENV
    tags: Mapping[str, str] = field(default_factory=lambda: {"board": "virtual"})
    prefix: str = "vboard"
    exporter_name: str = "loopback"
    coordinator: str = ""
    services: list[Service] = field(default_factory=list)
    virtual_boards: list[VirtualBoardPorts] = field(default_factory=list)
    place_names: list[str] = field(default_factory=list)

    def __enter__(self) -> "LoopbackLab":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        started = time.monotonic()
        coordinator, self.coordinator = start_coordinator(self.log_dir)
        self.services.append(coordinator)
        boards = [start_virtual_board(f"{self.prefix}-{i}", self.image, self.log_dir, self.lg_env)
                  for i in range(1, self.boards + 1)]
        self.services += boards
        self.virtual_boards = [board_ports(board) for board in boards]
        self.services.append(start_exporter(self.coordinator, self.exporter_name,
                                            self.virtual_boards, self.log_dir))
        admin = self.client()
        for i, board in enumerate(self.virtual_boards, start=1):
            place = board.group
            admin.create_place(place)
            admin.add_match(place, *place_matches(self.exporter_name, board.group))
            admin.set_tags(place, {**self.tags, "slot": str(i)})
            self.place_names.append(place)
        self.started_s = time.monotonic() - started

    def client(self, user: str | None = None) -> LabClient:
        return LabClient(self.coordinator, user=user)

    def service(self, name: str) -> Service:
        return next(service for service in self.services if service.name == name)

    def _replace(self, old: Service, new: Service) -> None:
        self.services[self.services.index(old)] = new

    def kill_coordinator(self) -> None:
        """The coordinator crashes (SIGKILL): its places as last saved, nothing else, survive."""
        self.service("coordinator").kill()

    def restart_coordinator(self) -> None:
        """Start the coordinator again on its address, from the places.yaml it saved, and the
        exporter too if it exited (as systemd's ``Restart=always`` would: labgrid's exporter
        ends when its coordinator goes away)."""
        old = self.service("coordinator")
        old.kill()
        port = int(self.coordinator.rsplit(":", 1)[1])
        new, _ = start_coordinator(self.log_dir, attempts=1, port=port)
        self._replace(old, new)
        self.restart_exporter()

    def restart_exporter(self) -> None:
        """Stop the exporter if it still runs, and start it again (resources exported anew)."""
        old = self.service(self.exporter_name)
        old.stop()
        self._replace(old, start_exporter(self.coordinator, self.exporter_name,
                                          self.virtual_boards, self.log_dir))

    def board_url(self, place: str) -> str:
        """The virtual board behind a place, as ``VirtualBoardClient`` takes it."""
        ports = next(b for b in self.virtual_boards if b.group == place)
        return f"http://127.0.0.1:{ports.power_port}"

    def stop(self) -> None:
        # exporter first, the coordinator last; each group killed even if another fails
        errors = []
        for service in reversed(self.services):
            try:
                service.stop()
            except Exception as error:  # noqa: BLE001
                errors.append(f"{service.name}: {error}")
        self.services.clear()
        if errors:
            raise RuntimeError("stopping the loopback lab: " + "; ".join(errors))
