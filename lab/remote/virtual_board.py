"""The virtual board: QEMU behind a network serial port and a network power switch.

This is **a way to test the lab, not hardware**. It lets the distributed
parts of the lab (a labgrid coordinator, an exporter, places, reservations,
clients on other machines) be exercised end to end on one computer with no
board at all. Whatever it measures is QEMU's, labelled ``board_kind=virtual`` and
``timing=icount`` like a QEMU run; nothing about it says anything about a
ZC702.

Run as ``python -m lab.remote.virtual_board --image ELF --serial-port P --power-port Q
[--lg-env env/qemu.yaml]``. It serves, on 127.0.0.1 only:

- **the serial port**, a raw TCP server on port P, for labgrid's
  ``NetworkSerialPort`` (``protocol: raw``). Like a terminal server in front of
  a real board's UART, it listens whether the board is powered or not, so a
  client (``OVMStrategy`` connects its console *before* it switches the power
  on) sees the boot from its first byte. The process sits between QEMU
  (``-serial stdio``) and the client: it always drains QEMU's output, so a
  guest UART nobody listens to never blocks QEMU; with no client connected the
  bytes are dropped, as a real serial line drops them. One client at a time:
  a new connection replaces the old one. A client that stops reading for
  more than ``SEND_TIMEOUT_S`` is disconnected rather than allowed to stall QEMU.
- **the power switch**, labgrid's ``simplerest`` protocol on port Q (the
  ``NetworkPowerPort`` host is ``http://127.0.0.1:Q/power/{index}/{value}``):
  ``GET /power/0/1`` starts QEMU (the command line comes from the ``QEMUDriver``
  entry of ``--lg-env``, through ``QemuMachine.from_env``), ``GET /power/0/0``
  kills it (pulling the plug), ``GET /power/0`` answers ``1`` or ``0``. A QEMU that ends other than by the
  switch (it crashed, or was killed) hangs up the serial port's client, as a
  dead board's serial line goes quiet for good; ``/info``'s ``last_end`` says how
  it ended. ``PUT``
  with a body of ``1``/``0`` switches too.
- **the image slot**, a lab extension: ``GET /image`` names the ELF the next
  power-on boots, ``PUT /image`` (body: a path on this machine) changes it, the
  way a boot medium is changed on a real board. ``VirtualBoardStrategy`` (below)
  uses it for ``select_image``. ``GET /info`` returns JSON provenance (board,
  timing, icount shift, QEMU command, image).

Port 0 picks a free port; the chosen ports are printed on stdout as one line
``READY {json}`` once both servers listen. SIGTERM or SIGINT stops QEMU and
exits.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import select
import shlex
import signal
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import attr
import requests
from labgrid.factory import target_factory

from lab.paths import default_lg_env
from lab.target.provenance import icount_shift
from lab.target.qemu_command import QemuMachine
from lab.target.strategy import OVMStrategy, Status

LOOPBACK = "127.0.0.1"
SEND_TIMEOUT_S = 5.0
READ_CHUNK = 65536
HTTP_TIMEOUT_S = 10.0
KIND = "virtual board: QEMU behind a network serial port and power switch (tests the lab, not hardware)"

log = logging.getLogger("virtual-board")


class SerialRelay:
    """A raw TCP serial port on 127.0.0.1 that exists whether the board is on or not."""

    def __init__(self, port: int, on_input) -> None:
        self._on_input = on_input
        self._lock = threading.Lock()
        self._client: socket.socket | None = None
        self._closed = threading.Event()
        self.dropped = 0  # bytes the board printed while no client was connected
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((LOOPBACK, port))
        self._listener.listen(4)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, name="serial-accept", daemon=True)

    def start(self) -> None:
        self._acceptor.start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                readable, _, _ = select.select([self._listener], [], [], 0.2)
            except (OSError, ValueError):
                return
            if readable:
                self.accept_pending()

    def accept_pending(self) -> None:
        """Take connections the kernel has completed but nobody accepted yet.

        Called at power-on too: a client that connected just before switching the
        power on must be attached before QEMU prints its first byte.
        """
        with self._lock:
            while True:
                try:
                    conn, peer = self._listener.accept()
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    return  # closed
                conn.setblocking(True)
                conn.settimeout(SEND_TIMEOUT_S)
                if self._client is not None:
                    log.info("serial: a new client %s:%d replaces the connected one", *peer)
                    self._close_client_locked()
                else:
                    log.info("serial: client %s:%d connected", *peer)
                self._client = conn
                threading.Thread(target=self._read_client, args=(conn,), name="serial-in",
                                 daemon=True).start()

    def _close_client_locked(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            client.close()

    def _read_client(self, conn: socket.socket) -> None:
        while True:
            try:
                data = conn.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                data = b""
            if not data:
                with self._lock:
                    if self._client is conn:
                        log.info("serial: client disconnected")
                        self._client = None
                        conn.close()
                return
            self._on_input(data)

    def send(self, data: bytes) -> None:
        """The board's output: to the client if one is connected, else dropped."""
        with self._lock:
            if self._client is None:
                self.dropped += len(data)
                return
            try:
                self._client.sendall(data)
            except (OSError, socket.timeout) as error:
                log.warning("serial: client stopped reading (%s); disconnecting it so QEMU "
                            "keeps running", error)
                self._close_client_locked()

    def hang_up(self) -> None:
        """Drop the client's connection (it may connect again): the board died."""
        with self._lock:
            self._close_client_locked()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            self._close_client_locked()
            self._listener.close()


class VirtualBoard:
    """QEMU switched on and off like a board on a network power switch."""

    def __init__(self, machine: QemuMachine, image: Path, serial_port: int, lg_env: Path) -> None:
        self.machine = machine
        self.default_image = image.resolve()
        self.image = self.default_image
        self.lg_env = lg_env
        self._lock = threading.RLock()
        self._qemu: subprocess.Popen[bytes] | None = None
        self._pumps: list[threading.Thread] = []
        self._switched_off: subprocess.Popen[bytes] | None = None  # the QEMU power_off kills
        self.last_end: str | None = None  # how the last QEMU ended without power_off
        self.serial = SerialRelay(serial_port, self._to_qemu)

    # -- power ---------------------------------------------------------------
    @property
    def powered(self) -> bool:
        with self._lock:
            return self._qemu is not None and self._qemu.poll() is None

    def command(self) -> list[str]:
        return self.machine.command(self.image, "-serial", "stdio", "-monitor", "none")

    def power_on(self) -> None:
        with self._lock:
            if self.powered:
                assert self._qemu is not None  # powered
                log.info("power on: already on (QEMU pid %d)", self._qemu.pid)
                return
            self._reap()
            self.serial.accept_pending()
            command = self.command()
            self.last_end = None
            self._qemu = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, bufsize=0)
            qemu = self._qemu
            self._pumps = [
                threading.Thread(target=self._pump_output, args=(qemu,), name="qemu-out", daemon=True),
                threading.Thread(target=self._pump_stderr, args=(qemu,), name="qemu-err", daemon=True),
            ]
            for pump in self._pumps:
                pump.start()
            log.info("power on: QEMU pid %d boots %s", qemu.pid, self.image)
            log.debug("QEMU command: %s", shlex.join(command))

    def power_off(self) -> None:
        with self._lock:
            if self._qemu is None:
                log.info("power off: already off")
                return
            qemu = self._qemu
            self._switched_off = qemu
            if qemu.poll() is None:
                qemu.kill()
            code = qemu.wait()
            self._reap()
            log.info("power off: QEMU pid %d stopped (exit status %d)", qemu.pid, code)

    def _reap(self) -> None:
        """Forget a stopped QEMU, after its last output reached the serial port.

        Joining the pumps matters: bytes of the previous boot must never reach a
        client that connected for the next one.
        """
        if self._qemu is None:
            return
        self._qemu.wait()
        for pump in self._pumps:
            pump.join()
        for stream in (self._qemu.stdin, self._qemu.stdout, self._qemu.stderr):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass
        self._qemu, self._pumps = None, []

    def _pump_output(self, qemu: subprocess.Popen[bytes]) -> None:
        assert qemu.stdout is not None  # power_on's Popen(stdout=PIPE)
        fd = qemu.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, READ_CHUNK)
            except OSError:
                chunk = b""
            if not chunk:
                break
            self.serial.send(chunk)
        code = qemu.wait()
        if qemu is self._switched_off:
            return
        # It died by itself (or was killed, not by the power switch). The serial line is
        # hung up, as a board's USB serial adapter vanishes when the board dies: the
        # client's console ends now, not at its next deadline.
        self.last_end = (f"QEMU was killed by signal {signal.Signals(-code).name}" if code < 0
                         else f"QEMU exited by itself with status {code}")
        log.warning("QEMU pid %d: %s (the board is off; serial line hung up)", qemu.pid,
                    self.last_end)
        self.serial.hang_up()

    def _pump_stderr(self, qemu: subprocess.Popen[bytes]) -> None:
        assert qemu.stderr is not None  # power_on's Popen(stderr=PIPE)
        for line in iter(qemu.stderr.readline, b""):
            log.warning("qemu: %s", line.decode(errors="replace").rstrip())

    def _to_qemu(self, data: bytes) -> None:
        with self._lock:
            qemu = self._qemu
        if qemu is None or qemu.poll() is not None or qemu.stdin is None:
            return  # typing into a board that is off
        try:
            qemu.stdin.write(data)
            qemu.stdin.flush()
        except OSError:
            pass

    # -- image and provenance ---------------------------------------------------
    def set_image(self, path: Path) -> None:
        with self._lock:
            self.image = path.resolve()
            log.info("image: the next power-on boots %s%s", self.image,
                     " (now on: power-cycle to boot it)" if self.powered else "")

    def info(self) -> dict[str, object]:
        shift = icount_shift(shlex.join(self.machine.extra_args))
        from labgrid.config import Config

        return {
            "kind": KIND,
            "board": Config(str(self.lg_env)).get_option("ovm_board", "unknown"),
            "board_kind": "virtual",
            "timing": "icount" if shift is not None else "real",
            "icount_shift": shift,
            "qemu": shlex.join(self.command()),
            "image": str(self.image),
            "default_image": str(self.default_image),
            "powered": self.powered,
            "last_end": self.last_end,
            "serial_port": self.serial.port,
        }

    def close(self) -> None:
        self.power_off()
        self.serial.close()


def _handler(board: VirtualBoard):
    class Handler(BaseHTTPRequestHandler):
        server_version = "ovm-virtual-board"

        def log_message(self, fmt, *args):  # noqa: A002 - http.server's signature
            log.debug("http: %s", fmt % args)

        def _reply(self, status: int, body: str, content_type: str = "text/plain") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> str:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length).decode().strip()

        def _switch(self, value: str) -> None:
            if value == "1":
                board.power_on()
            elif value == "0":
                board.power_off()
            else:
                self._reply(400, f"power value must be 0 or 1, not {value!r}\n")
                return
            self._reply(200, "1" if board.powered else "0")

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = urlparse(self.path).path.rstrip("/")
            parts = [part for part in path.split("/") if part]
            try:
                if path == "/image":
                    self._reply(200, str(board.image))
                elif path == "/info":
                    self._reply(200, json.dumps(board.info()), "application/json")
                elif parts[:2] == ["power", "0"] and len(parts) == 2:
                    self._reply(200, "1" if board.powered else "0")
                elif parts[:2] == ["power", "0"] and len(parts) == 3:
                    self._switch(parts[2])
                elif parts[:1] == ["power"]:
                    self._reply(404, "this board has one power port, index 0\n")
                else:
                    self._reply(404, "no such resource: /power/0[/0|1], /image, /info\n")
            except Exception as error:  # keep serving; the client sees why
                log.exception("http GET %s failed", self.path)
                self._reply(500, f"{type(error).__name__}: {error}\n")

        def do_PUT(self) -> None:  # noqa: N802
            path = urlparse(self.path).path.rstrip("/")
            try:
                if path == "/image":
                    image = Path(self._body())
                    if not image.is_file():
                        self._reply(400, f"no such image on the virtual board's host: {image}\n")
                        return
                    board.set_image(image)
                    self._reply(200, str(board.image))
                    return
                if path == "/power/0":
                    self._switch(self._body())
                    return
                self._reply(404, "PUT: /power/0 (body 0 or 1) or /image (body: a path)\n")
            except Exception as error:
                log.exception("http PUT %s failed", self.path)
                self._reply(500, f"{type(error).__name__}: {error}\n")

    return Handler


class VirtualBoardClient:
    """The virtual board's HTTP side as a client sees it (from its power URL)."""

    def __init__(self, power_url: str) -> None:
        url = urlparse(power_url)
        self.base = f"{url.scheme}://{url.netloc}"

    def _call(self, method: str, path: str, body: str | None = None) -> requests.Response:
        reply = requests.request(method, self.base + path, data=body, timeout=HTTP_TIMEOUT_S)
        if reply.status_code != 200:
            raise RuntimeError(f"virtual board {self.base}: {method} {path}: "
                               f"{reply.status_code} {reply.text.strip()}")
        return reply

    def info(self) -> dict[str, object]:
        return self._call("GET", "/info").json()

    def image(self) -> str:
        return self._call("GET", "/image").text

    def set_image(self, image: Path | str) -> None:
        self._call("PUT", "/image", str(Path(image).resolve()))

    def powered(self) -> bool:
        return self._call("GET", "/power/0").text == "1"


@target_factory.reg_driver
@attr.s(eq=False)
class VirtualBoardStrategy(OVMStrategy):
    """``OVMStrategy`` on a (remote) virtual board: ``select_image`` through its image slot.

    Everything else is ``OVMStrategy``'s, over ``NetworkPowerDriver`` and
    ``SerialDriver``. ``target.get_driver("OVMStrategy")`` finds it, so the
    testcases run on a virtual-board place unchanged.
    """

    def board(self) -> VirtualBoardClient:
        return VirtualBoardClient(self.power.port.host)

    def emulator_end(self) -> str | None:
        """How the board's QEMU ended by itself, as the board says; or that the board is gone."""
        try:
            info = self.board().info()
        except (requests.RequestException, RuntimeError) as error:
            return f"the virtual board does not answer ({type(error).__name__}: {error})"
        ended = info.get("last_end")
        return f"the virtual board's {ended}" if ended and not info.get("powered") else None

    def select_image(self, image: Path | None) -> None:
        board = self.board()
        wanted = str(Path(image).resolve()) if image is not None else str(board.info()["default_image"])
        if board.image() == wanted:
            return
        self.transition(Status.off)
        board.set_image(wanted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.remote.virtual_board",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", type=Path, required=True, help="the ELF a power-on boots")
    parser.add_argument("--serial-port", type=int, required=True, help="raw TCP serial port (0: any free)")
    parser.add_argument("--power-port", type=int, required=True, help="simplerest HTTP port (0: any free)")
    parser.add_argument("--lg-env", type=Path, default=default_lg_env(),
                        help="labgrid environment whose QEMUDriver entry says how QEMU runs")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every HTTP request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s virtual-board[%(process)d]: %(message)s")
    if not args.image.is_file():
        parser.error(f"no image {args.image} (build it: python -m lab.firmware build ...)")

    board = VirtualBoard(QemuMachine.from_env(args.lg_env), args.image, args.serial_port, args.lg_env)
    http = ThreadingHTTPServer((LOOPBACK, args.power_port), _handler(board))
    http.daemon_threads = True
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    board.serial.start()
    server = threading.Thread(target=http.serve_forever, name="http", daemon=True)
    server.start()
    power_port = http.server_address[1]
    log.info("serial on %s:%d (raw TCP), power on http://%s:%d/power/0 (simplerest), image %s; "
             "a virtual board for testing the lab, not hardware",
             LOOPBACK, board.serial.port, LOOPBACK, power_port, board.image)
    print("READY " + json.dumps({"serial_port": board.serial.port, "power_port": power_port}),
          flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        http.shutdown()
        http.server_close()
        board.close()
        log.info("stopped (%d bytes of output printed while no client was connected)",
                 board.serial.dropped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
