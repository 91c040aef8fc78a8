"""Leases: a client holding a place shows that it is alive, so a dead one's place is recovered.

labgrid's lock (``acquire``) has no timeout and an acquired reservation never
expires: a client killed while it holds a place leaves it locked for good.
The lab's clients therefore keep a **lease** on the place they hold, in the
place's tags at the coordinator, where every other client sees it::

    lease=<holder>+<ttl>+<seq>        e.g. lease=ci-1/nightly+60+17

``holder`` is the client as the coordinator names it (``host/user``), ``ttl``
the lease's time to live in seconds, ``seq`` a counter the holder raises every
``ttl/4`` seconds (``LeaseKeeper``). A lease is **stale** when its value has
not changed for ``ttl`` seconds, measured by the client looking at it on its
own clock from when it first saw that value (``LeaseWatch``): no two
machines' clocks are compared. A place is a **stale hold** when it is
acquired by the holder its lease names and that lease is stale: its holder
was killed, froze, or lost its network.

A waiting client recovers a stale hold without a person: it cancels the
place's reservation and kicks the holder (``release --kick``). Both matter: a
kick alone frees the place only when labgrid expires the dead client's
allocated reservation, some 90 s later; cancelled first, the place is free at
once. A place acquired *without* a lease (someone with ``labgrid-client``) is
never kicked: the waiting client names its holder and reservation, and
``docs/lab.md`` says how a person frees it.

The holder also checks, at each renewal, that the place is still its own
and that its exporter still exports its resources; when not, it reports the
fault (``on_fault``) at once instead of letting the run wait out a timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .coordination import ClientError, LabClient, PlaceInfo
from .faults import PlaceFault, PlaceLost

DEFAULT_TTL_S = 60.0
LEASE_TAG = "lease"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lease:
    holder: str
    ttl: float
    seq: int

    def tag(self) -> str:
        return f"{self.holder}+{self.ttl:g}+{self.seq}"

    @classmethod
    def parse(cls, value: str | None) -> Lease | None:
        """The lease in a tag's value; None for no lease or one that is not the lab's."""
        holder, _, rest = (value or "").rpartition("+")
        holder, _, ttl = holder.rpartition("+")
        try:
            return cls(holder, float(ttl), int(rest)) if holder else None
        except ValueError:
            return None


class LeaseKeeper:
    """Renews the lease on a place this process holds, and watches that it still holds it.

    ``on_fault(fault)`` is called once, from the keeper's thread, when the place
    is lost (acquired by nobody or another client: the coordinator restarted, or
    someone kicked this client) or its exporter is gone. While the coordinator
    does not answer, the lease is simply not renewed: no one else can acquire
    the place without a coordinator either.
    """

    def __init__(self, client: LabClient, place: str, *, ttl: float = DEFAULT_TTL_S,
                 on_fault: Callable[[PlaceFault], None] = lambda _: None) -> None:
        self.client = client
        self.place = place
        self.ttl = ttl
        self.on_fault = on_fault
        self.holder = ""
        self.fault: PlaceFault | None = None
        self._seq = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_forever, name=f"lease-{place}",
                                        daemon=True)

    @property
    def interval(self) -> float:
        """Between two renewals; a renewal's two calls take a second or two more."""
        return self.ttl / 4

    @property
    def call_timeout(self) -> float:
        return min(self.ttl / 2, 30.0)

    def start(self) -> None:
        """Write the first lease (the place must be acquired by this client) and keep renewing it."""
        info = self.client.show(self.place)
        if info.acquired is None:
            raise ClientError(["show"], f"place {self.place} is not acquired", 1)
        self.holder = info.acquired
        self._write()
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing; remove the lease unless the place was lost (another's now)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if not isinstance(self.fault, PlaceLost) and self.holder:
            try:
                self.client.set_tags(self.place, {LEASE_TAG: ""}, timeout=10.0)
            except ClientError as error:
                log.warning("lease on %s not removed: %s", self.place, error)

    def _write(self) -> None:
        self._seq += 1
        lease = Lease(self.holder, self.ttl, self._seq)
        self.client.set_tags(self.place, {LEASE_TAG: lease.tag()}, timeout=self.call_timeout)

    def _renew_forever(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                fault = self._check()
            except ClientError as error:
                log.warning("lease on %s not renewed: %s", self.place, error)
                continue
            if fault:
                self.fault = fault
                log.error("%s", fault)  # noqa: TRY400 - a fault, not an exception caught
                self.on_fault(fault)
                return

    def _check(self) -> PlaceFault | None:
        info = self.client.show(self.place, timeout=self.call_timeout)
        if info.acquired != self.holder:
            return PlaceLost(f"place {self.place} lost: it is now acquired by "
                             f"{info.acquired or 'nobody'}, not {self.holder} (the coordinator "
                             "restarted, or this client was kicked); nothing of this run is kept")
        if info.orphaned:
            return PlaceFault(f"the exporter of place {self.place} is gone: "
                              f"{', '.join(info.orphaned)} no longer exported")
        self._write()
        return None


@dataclass(frozen=True)
class Hold:
    """Who holds a place, as a waiting client judges it."""

    place: str
    holder: str
    reservation: str | None
    lease: Lease | None  # None: acquired without a lease (by hand, or not the lab's client)
    unchanged_s: float  # how long this client has seen the lease unchanged

    @property
    def stale(self) -> bool:
        return self.lease is not None and self.unchanged_s >= self.lease.ttl

    def describe(self) -> str:
        text = f"place {self.place} is acquired by {self.holder}"
        text += f" (reservation {self.reservation})" if self.reservation else " (no reservation)"
        if self.lease is None:
            return text + "; no lease: held by hand, never kicked (docs/lab.md: stale locks)"
        return (text + f"; its lease unchanged for {self.unchanged_s:.0f} s of {self.lease.ttl:g} s"
                + (": STALE" if self.stale else ""))


class LeaseWatch:
    """Judges the holds of places over time (one watch per waiting client)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, float]] = {}  # place: (lease value, first seen)

    def lease_age(self, info: PlaceInfo) -> tuple[Lease | None, float]:
        value = info.tags.get(LEASE_TAG, "")
        now = time.monotonic()
        seen = self._seen.get(info.name)
        if seen is None or seen[0] != value:
            seen = self._seen[info.name] = (value, now)
        return Lease.parse(value), now - seen[1]

    def hold(self, info: PlaceInfo) -> Hold | None:
        """The place's hold, None when it is not acquired."""
        lease, age = self.lease_age(info)
        if info.acquired is None:
            return None
        if lease is not None and lease.holder != info.acquired:
            lease = None  # a lease left by an earlier holder says nothing of this one
        return Hold(info.name, info.acquired, info.reservation, lease, age)

    def free_of_leases(self, info: PlaceInfo, me: str | None = None) -> bool:
        """True when a place that is not acquired carries no live lease of another client
        (after a coordinator restart a holder's lease survives its acquisition)."""
        lease, age = self.lease_age(info)
        return lease is None or lease.holder == me or age >= lease.ttl


def recover(client: LabClient, hold: Hold) -> str:
    """Free a stale hold: cancel its reservation, then kick its holder. What was done."""
    if hold.reservation:
        try:
            client.cancel(hold.reservation)
        except ClientError as error:  # gone already: the kick is what matters
            log.info("reservation %s: %s", hold.reservation, error)
    client.kick(hold.place)
    assert hold.lease is not None  # only stale holds are recovered
    return (f"place {hold.place}: holder {hold.holder} stopped renewing its lease "
            f"({hold.unchanged_s:.0f} s unchanged, ttl {hold.lease.ttl:g} s): cancelled "
            f"{'its reservation ' + hold.reservation if hold.reservation else 'no reservation'} "
            f"and kicked it")


def matching(places: Mapping[str, PlaceInfo], tags: Mapping[str, str],
             name: str | None = None) -> Iterable[PlaceInfo]:
    """The places a request for ``name`` (or for ``tags``) could be given."""
    for info in places.values():
        if name is not None:
            if info.name == name:
                yield info
        elif all(info.tags.get(k) == v for k, v in tags.items()):
            yield info
