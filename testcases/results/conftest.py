"""A real InfluxDB for the results tests: Debian's ``influxd`` (1.6.7) in a temp dir.

Each test that asks for ``influxd`` gets its own server: a throw-away config
whose meta, data and WAL live in the test's tmp dir, HTTP and the RPC
(backup/restore) service on free loopback ports (1.6 would otherwise bind
:8086 and :8088 on every interface), reporting and every other service off.
The test can stop it (``stop()``, ``stop(kill=True)``) and start it again on
the same port with the same data (``start()``): that is how the down-server
case is made. The finalizer stops it whatever the test did.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.results.influx import InfluxConfig

INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"
START_TIMEOUT_S = 20.0

_CONFIG = """\
reporting-disabled = true
# The RPC service for backup/restore: 1.6 binds 127.0.0.1:8088 unless told otherwise.
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false
  index-version = "inmem"

[coordinator]
  write-timeout = "10s"

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false

[ifql]
  enabled = false

[continuous_queries]
  enabled = false

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false
"""


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open while choosing, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class InfluxServer:
    """One ``influxd`` with its own config, data and ports; restarts on the same port and data."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.http_port, self.rpc_port = _free_ports(2)
        self.config_path = root / "influxdb.conf"
        self.log_path = root / "influxd.log"
        self.config_path.write_text(_CONFIG.format(root=root, http_port=self.http_port,
                                                   rpc_port=self.rpc_port))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def config(self, database: str = "ovm_test", **overrides: object) -> InfluxConfig:
        """Client settings for this server (a short timeout: the tests expect fast failures)."""
        settings: dict[str, object] = {"timeout_s": 5.0, **overrides}
        return InfluxConfig(url=self.url, database=database, **settings)  # type: ignore[arg-type]

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return "(no log)"

    def _pinged(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as response:
                return response.status == 204
        except (urllib.error.URLError, OSError):
            return False

    def start(self) -> None:
        if self.process is not None:
            raise RuntimeError(f"influxd on {self.url} is running already")
        # INFLUXDB_* variables override the config file in 1.x: keep the caller's out.
        environment = {k: v for k, v in os.environ.items() if not k.startswith("INFLUXDB_")}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([INFLUXD, "-config", str(self.config_path)],
                                            stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=environment)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._pinged():
            status = self.process.poll()
            if status is not None:
                self.process = None
                raise RuntimeError(f"influxd exited with status {status} before answering "
                                   f"{self.url}/ping; its log:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop(kill=True)
                raise RuntimeError(f"influxd did not answer {self.url}/ping with 204 within "
                                   f"{START_TIMEOUT_S:g} s; its log:\n{self.log()}")
            time.sleep(0.05)

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (a clean shutdown) or SIGKILL (a crash); SIGKILL anyway after 10 s."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """A running ``influxd`` of its own (see the module's docstring); stopped after the test."""
    if not os.access(INFLUXD, os.X_OK):
        pytest.skip(f"influxd is not installed ({INFLUXD}): Debian's package influxdb, "
                    "which env/setup.sh installs")
    server = InfluxServer(tmp_path_factory.mktemp("influxd"))
    try:
        server.start()
        yield server
    finally:
        server.stop()
