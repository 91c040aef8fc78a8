"""InfluxDB for the lab's results: configuration, a client that talks to any server, and sync.

The local store (``lab.results.store``) is the source of truth: every run
lands there first, and ``sync`` copies to InfluxDB whatever has not reached
it yet. A server that is down therefore costs nothing but a later backfill.

Servers differ in what they speak, and the lab must work with all of them:

- InfluxDB 1.8+, 2.x and 3.x accept the v2 write API (``/api/v2/write``);
  we use the ``influxdb-client`` package for it. On 1.8 the "bucket" is
  ``database`` or ``database/retention-policy`` and the token is
  ``username:password``.
- Older 1.x servers (Debian 12 ships 1.6.7) answer 404 on ``/api/v2/write``
  and take line protocol on ``/write?db=...&precision=ns`` instead.

``InfluxClient`` asks ``/ping`` which version it is talking to (the
``X-Influxdb-Version`` header) and picks the write path; without that header
it probes ``/api/v2/write`` and takes a plain 404 as "v1 only". Reading is
InfluxQL over ``/query``, which every one of them understands (2.x through
its v1 compatibility API).

Writes are synchronous and batched, so a failure is seen at the batch that
failed. Points carry deterministic timestamps (run start + seq, see
``lab.results.schema``): writing a run again overwrites its points instead
of adding to them, which is what makes a retry after a half-written run
exactly-once.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pandas as pd
import urllib3
import yaml

from lab.paths import ENV_DIR

from .schema import Point, RunPoints
from .store import ResultStore

DEFAULT_CONFIG_FILE = ENV_DIR / "influxdb.yaml"
ENV_PREFIX = "OVM_INFLUX_"
# Keys of the YAML file; the environment variable is ENV_PREFIX + key.upper().
_STRING_KEYS = ("url", "database", "bucket", "org", "token", "username", "password")
_NUMBER_KEYS = ("batch_size", "timeout_s")
CONFIG_KEYS = _STRING_KEYS + _NUMBER_KEYS

Progress = Callable[[str], None]


class InfluxError(Exception):
    """Something about InfluxDB went wrong; the message says what and where."""


class InfluxConfigError(InfluxError, ValueError):
    """The InfluxDB configuration is malformed; the message names the file or variable."""


class InfluxUnavailable(InfluxError):
    """The server could not be reached or refused a request (URL and what failed in the message)."""


class InfluxQueryError(InfluxError):
    """The server answered, but rejected an InfluxQL statement."""


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class InfluxConfig:
    """Where results go. Loaded from the environment or ``env/influxdb.yaml``; never built in."""

    url: str
    database: str  # v1 database, v2 bucket ("db" or "db/rp" on 1.8)
    org: str | None = None  # v2 only; 1.8 ignores it
    token: str | None = field(default=None, repr=False)  # v2, or 1.8+ ("user:password")
    username: str | None = None  # v1 authentication
    password: str | None = field(default=None, repr=False)
    batch_size: int = 5000
    timeout_s: float = 10.0

    @property
    def destination(self) -> str:
        """The store's sync key: this database on this server (a fragment is never sent)."""
        return f"{self.url.rstrip('/')}#{self.database}"

    @classmethod
    def load(cls, environ: Mapping[str, str] = os.environ,
             config_file: Path | None = None) -> InfluxConfig | None:
        """The configuration from ``OVM_INFLUX_*`` variables over the YAML file, or None.

        None means no URL is configured anywhere: the lab then keeps results in
        the local store only. ``config_file`` None means ``env/influxdb.yaml``
        if it exists (a file named explicitly must exist). The environment wins
        key by key, so a token can live in the environment and the rest in the file.
        """
        values: dict[str, tuple[Any, str]] = {}  # key -> (value, where it came from)
        path = config_file if config_file is not None else DEFAULT_CONFIG_FILE
        if config_file is not None or path.is_file():
            for key, value in _read_config_file(path).items():
                values[key] = (value, f"{path}: {key}")
        for key in CONFIG_KEYS:
            name = ENV_PREFIX + key.upper()
            raw = environ.get(name)
            if raw is not None and raw.strip() != "":
                values[key] = (raw.strip(), f"environment variable {name}")

        if "url" not in values:
            return None
        strings = {key: _string(*values[key]) for key in _STRING_KEYS if key in values}
        url = strings["url"]
        if not _is_http_url(url):
            raise InfluxConfigError(
                f"{values['url'][1]}: {url!r} is not an http(s) URL like http://host:8086")

        database, bucket = strings.get("database"), strings.get("bucket")
        if database and bucket and database != bucket:
            raise InfluxConfigError(
                f"{values['database'][1]} ({database!r}) and {values['bucket'][1]} ({bucket!r}) "
                "disagree: they name the same thing, set one")
        database = database or bucket
        if not database:
            raise InfluxConfigError(
                f"{values['url'][1]} sets a server but no database: set {ENV_PREFIX}DATABASE "
                f"(or {ENV_PREFIX}BUCKET), or database: in {path}")
        if bool(strings.get("username")) != bool(strings.get("password")):
            missing = "password" if strings.get("username") else "username"
            raise InfluxConfigError(
                f"{missing} is missing: set both {ENV_PREFIX}USERNAME and {ENV_PREFIX}PASSWORD "
                f"(or username:/password: in {path}), or neither")

        number: dict[str, Any] = {}
        if "batch_size" in values:
            number["batch_size"] = _positive(*values["batch_size"], kind=int)
        if "timeout_s" in values:
            number["timeout_s"] = _positive(*values["timeout_s"], kind=float)
        return cls(url=url.rstrip("/"), database=database, org=strings.get("org"),
                   token=strings.get("token"), username=strings.get("username"),
                   password=strings.get("password"), **number)


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InfluxConfigError(f"{path}: cannot read the InfluxDB configuration: "
                                f"{error.strerror or error}") from error
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InfluxConfigError(f"{path}: not valid YAML: {error}") from error
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise InfluxConfigError(f"{path}: expected a mapping of {', '.join(CONFIG_KEYS)}; "
                                f"found {type(document).__name__}")
    unknown = sorted(str(key) for key in document if key not in CONFIG_KEYS)
    if unknown:
        raise InfluxConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; "
                                f"known: {', '.join(CONFIG_KEYS)}")
    return {key: value for key, value in document.items() if value is not None}


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is no number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in url


def _string(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InfluxConfigError(f"{where}: expected a string, found {type(value).__name__}")
    return str(value).strip()


def _positive(value: Any, where: str, *, kind: type) -> Any:
    if isinstance(value, bool):
        raise InfluxConfigError(f"{where}: expected a positive number, found {value!r}")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number <= 0 or (kind is int and isinstance(value, float)
                                         and not value.is_integer()):
        what = "a positive integer" if kind is int else "a positive number"
        raise InfluxConfigError(f"{where}: expected {what}, found {value!r}")
    return number


# --------------------------------------------------------------------------- client


@dataclass(frozen=True)
class ServerInfo:
    """What ``/ping`` (and, if needed, a probe) told about the server."""

    version: str | None  # X-Influxdb-Version, e.g. "1.6.7~rc0", "v2.7.4", or None
    write_api: str  # "v1" (/write) or "v2" (/api/v2/write through influxdb-client)
    detected_by: str  # "version header" or "probe of /api/v2/write"


def _version_tuple(version: str) -> tuple[int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)", version.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


class InfluxClient:
    """One InfluxDB server: detect what it speaks, write points in batches, query InfluxQL.

    Every request has the configured timeout and no retries, so a down
    server fails in at most ``timeout_s`` with ``InfluxUnavailable``.
    """

    def __init__(self, config: InfluxConfig) -> None:
        self.config = config
        # total: connecting and each wait for data share one budget.
        timeout = urllib3.Timeout(total=config.timeout_s)
        self._http = urllib3.PoolManager(timeout=timeout, retries=False)
        self._server: ServerInfo | None = None
        self._v2: Any = None  # influxdb_client's (client, write_api), made on first v2 write

    # -- plumbing

    def _headers(self) -> dict[str, str]:
        if self.config.token:
            return {"Authorization": f"Token {self.config.token}"}
        if self.config.username:
            return urllib3.make_headers(
                basic_auth=f"{self.config.username}:{self.config.password or ''}")
        return {}

    def _request(self, method: str, path: str, what: str, *, fields: dict[str, str] | None = None,
                 body: bytes | None = None, ok: Sequence[int] = (200, 204),
                 headers: dict[str, str] | None = None) -> urllib3.BaseHTTPResponse:
        url = self.config.url.rstrip("/") + path
        all_headers = {**self._headers(), **(headers or {})}
        if fields:  # always in the URL: every server version reads them there
            url += "?" + urlencode(fields)
        try:
            response = self._http.request(method, url, body=body, headers=all_headers)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            reason = _reason(error, self.config.timeout_s)
            raise InfluxUnavailable(f"{self.config.url}: {what} failed: {reason}") from error
        if response.status not in ok:
            hint = " (is this an InfluxDB server?)" if path == "/ping" else ""
            raise InfluxUnavailable(
                f"{self.config.url}: {what} failed: HTTP {response.status} "
                f"{_error_text(response.data)}".rstrip() + hint)
        return response

    # -- detection

    def server(self) -> ServerInfo:
        """Detect (once) which write API the server speaks: raises InfluxUnavailable when down."""
        if self._server is None:
            self._server = self._detect()
        return self._server

    def _detect(self) -> ServerInfo:
        response = self._request("GET", "/ping", "ping (GET /ping)", ok=(200, 204))
        version = response.headers.get("X-Influxdb-Version")
        parsed = _version_tuple(version) if version else None
        if parsed is not None:
            return ServerInfo(version, "v2" if parsed >= (1, 8) else "v1", "version header")
        # No usable header (a proxy in between, or a server that does not say): ask the
        # v2 endpoint itself.
        return ServerInfo(version, self.probe_write_api(), "probe of /api/v2/write")

    def probe_write_api(self) -> str:
        """Ask ``/api/v2/write`` whether it exists: "v1" when it does not, else "v2".

        An empty write is harmless. Only a router's plain-text 404 ("404 page not
        found", as 1.6/1.7 answer) means the API is missing; 2.x answers a JSON
        404 for a bucket that does not exist, and 401 without a token.
        """
        probe = self._request("POST", "/api/v2/write", "probe (POST /api/v2/write)",
                              fields={"bucket": self.config.database,
                                      "org": self.config.org or "-"},
                              body=b"", ok=range(100, 600))
        plain_404 = probe.status == 404 and not probe.data.lstrip().startswith(b"{")
        return "v1" if plain_404 else "v2"

    # -- database

    def ensure_database(self) -> None:
        """Create the database on a 1.x server (harmless if it exists).

        On 2.x a bucket is made by its administrator (with a token that may write
        but not create), and 3.x creates databases on first write: nothing to do.
        """
        server = self.server()
        parsed = _version_tuple(server.version) if server.version else None
        if server.write_api == "v2" and (parsed is None or parsed[0] >= 2):
            return
        database, _ = self._database_and_rp()
        self.query(f'CREATE DATABASE "{_quote_identifier(database)}"')

    def _database_and_rp(self) -> tuple[str, str | None]:
        database, _, rp = self.config.database.partition("/")
        return database, rp or None

    # -- writing

    def write(self, points: Iterable[Point],
              progress: Callable[[int, int], None] | None = None) -> int:
        """Write points in batches of ``batch_size`` lines; returns how many were written.

        ``progress(written, total)`` is called after each batch the server accepted.
        Raises InfluxUnavailable at the first batch that fails (earlier batches stay written).
        """
        server = self.server()  # first: a server that is down fails before any work
        lines = [point.line() for point in points]
        size = self.config.batch_size
        written = 0
        for start in range(0, len(lines), size):
            batch = lines[start:start + size]
            if server.write_api == "v1":
                self._write_v1(batch)
            else:
                self._write_v2(batch)
            written += len(batch)
            if progress is not None:
                progress(written, len(lines))
        return written

    def _write_v1(self, lines: list[str]) -> None:
        database, rp = self._database_and_rp()
        fields = {"db": database, "precision": "ns", **({"rp": rp} if rp else {})}
        self._request("POST", "/write", f"write of {len(lines)} points to database {database!r}",
                      fields=fields, body="\n".join(lines).encode("utf-8"), ok=(204,),
                      headers={"Content-Type": "text/plain; charset=utf-8"})

    def _write_v2(self, lines: list[str]) -> None:
        # Imported here: only servers that speak v2 need the package.
        from influxdb_client import InfluxDBClient, WritePrecision
        from influxdb_client.client.write_api import SYNCHRONOUS
        from influxdb_client.rest import ApiException

        config = self.config
        if self._v2 is None:
            token = config.token or (f"{config.username}:{config.password}"
                                     if config.username else "")  # "": no Authorization
            client = InfluxDBClient(url=config.url, token=token, org=config.org or "-",
                                    timeout=int(config.timeout_s * 1000))
            self._v2 = (client, client.write_api(write_options=SYNCHRONOUS))
        what = f"write of {len(lines)} points to bucket {config.database!r}"
        try:
            self._v2[1].write(bucket=config.database, org=config.org or "-", record=lines,
                              write_precision=WritePrecision.NS)
        except ApiException as error:
            raise InfluxUnavailable(f"{config.url}: {what} failed: HTTP {error.status} "
                                    f"{_error_text(error.body or '')}".rstrip()) from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise InfluxUnavailable(
                f"{config.url}: {what} failed: {_reason(error, config.timeout_s)}") from error

    # -- reading

    def query(self, influxql: str) -> pd.DataFrame:
        """Run InfluxQL through ``/query``: one row per value, tag columns included.

        ``time`` stays integer ns since the epoch (the schema's times are run
        start + seq, compared exactly, not wall-clock instants).
        """
        database, rp = self._database_and_rp()
        fields = {"q": influxql, "db": database, "epoch": "ns", **({"rp": rp} if rp else {})}
        read_only = influxql.lstrip().upper().startswith(("SELECT", "SHOW"))
        response = self._request("GET" if read_only else "POST", "/query",
                                 f"query {influxql!r}", fields=fields, ok=(200, 400))
        try:
            document = json.loads(response.data)
        except ValueError as error:
            raise InfluxUnavailable(
                f"{self.config.url}: query {influxql!r}: HTTP {response.status}, "
                f"answer is not JSON: {response.data[:200]!r}") from error
        frames: list[pd.DataFrame] = []
        for result in document.get("results", []):
            if "error" in result:
                raise InfluxQueryError(f"{self.config.url}: {influxql!r}: {result['error']}")
            for series in result.get("series", []):
                frame = pd.DataFrame(series.get("values", []), columns=series["columns"])
                for tag, value in (series.get("tags") or {}).items():
                    frame.insert(0, tag, value)
                frames.append(frame)
        if "error" in document:
            raise InfluxQueryError(f"{self.config.url}: {influxql!r}: {document['error']}")
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def close(self) -> None:
        if self._v2 is not None:
            self._v2[0].close()
            self._v2 = None
        self._http.clear()

    def __enter__(self) -> InfluxClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _quote_identifier(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"')


def _reason(error: BaseException, timeout_s: float) -> str:
    """The innermost cause, in words: "connection refused" rather than a pool's repr."""
    reason = getattr(error, "reason", None)
    if isinstance(reason, BaseException):
        return _reason(reason, timeout_s)
    text = str(error)
    if "Connection refused" in text:
        return "connection refused (is the server running?)"
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return f"cannot connect: {text}"
    if isinstance(error, (urllib3.exceptions.TimeoutError, TimeoutError)):
        return f"no answer within {timeout_s:g} s"
    return f"{type(error).__name__}: {text}"


def _error_text(data: bytes | str) -> str:
    """The server's reason from an error body: JSON's error/message, or the text itself."""
    text = (data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)).strip()
    try:
        document = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(document, dict):
        return str(document.get("error") or document.get("message") or text)[:300]
    return text[:300]


# --------------------------------------------------------------------------- sync


@dataclass
class SyncResult:
    """What a sync did. ``error`` set means it stopped there: the rest waits for a backfill."""

    destination: str
    synced: list[str] = field(default_factory=list)  # run ids written completely, in order
    points: int = 0  # points written, including those of a run that failed half-way
    failed_run: str | None = None
    pending: list[str] = field(default_factory=list)  # still unsynced after a failure
    error: InfluxError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def sync(store: ResultStore, config: InfluxConfig, progress: Progress = print, *,
         batches_per_report: int = 10,
         on_batch: Callable[[str, int, int], None] | None = None) -> SyncResult:
    """Write every run the store has not sent to ``config.destination``, oldest first.

    A run is marked synced only after its last batch was accepted. On the
    first failure the sync stops and returns it in the result: that run and
    the ones after it stay unsynced, and the next sync (or ``backfill``)
    writes them whole, overwriting whatever part had arrived (same
    timestamps, same series). ``on_batch(run_id, written, total)`` is called
    after each accepted batch; ``progress`` gets ``[influx] ...`` lines for
    each run and every ``batches_per_report`` batches.
    """
    result = SyncResult(config.destination)
    pending = store.unsynced(config.destination)
    if not pending:
        progress(f"[influx] {config.destination}: every run is synced already")
        return result
    with InfluxClient(config) as client:
        current: str | None = None
        try:
            server = client.server()
            progress(f"[influx] {config.url}: InfluxDB {server.version or '(version not given)'}, "
                     f"write API {server.write_api} (by {server.detected_by}); "
                     f"{len(pending)} run(s) to write to {config.database!r}")
            client.ensure_database()
            for index, run_id in enumerate(pending, start=1):
                current = run_id
                info = store.run_info(run_id)
                points = RunPoints.of(info, store.samples(run_id), store.scalars(run_id)).points
                batches = -(-len(points) // config.batch_size)
                progress(f"[influx] run {index}/{len(pending)} {run_id}: "
                         f"{len(points)} points in {batches} batch(es)")
                started = time.monotonic()
                run_written = 0

                def after_batch(written: int, total: int, run_id: str = run_id,
                                batches: int = batches) -> None:
                    nonlocal run_written
                    result.points += written - run_written
                    run_written = written
                    batch = -(-written // config.batch_size)
                    if batch % batches_per_report == 0 and written < total:
                        progress(f"[influx]   {run_id}: batch {batch}/{batches}, "
                                 f"{written}/{total} points")
                    if on_batch is not None:
                        on_batch(run_id, written, total)

                client.write(points, progress=after_batch)
                store.mark_synced(run_id, config.destination, time.time_ns())
                result.synced.append(run_id)
                progress(f"[influx] run {run_id} synced "
                         f"({len(points)} points, {time.monotonic() - started:.1f} s)")
                current = None
        except InfluxError as error:
            result.error = error
            result.failed_run = current
            done = set(result.synced)
            result.pending = [run_id for run_id in pending if run_id not in done]
            progress(f"[influx] stopped: {error}; {len(result.pending)} run(s) left for "
                     "`python -m lab.results backfill` (the local store keeps them)")
    return result
