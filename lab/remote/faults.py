"""What can go wrong with a place under a run, as exceptions a run fails with.

Both are ``RunFailed``: the run stops, says why, stores nothing and exits 2
(``lab.exits``). A ``PlaceLost`` is not the board's fault (the coordinator
restarted, someone kicked the client) and is not counted against it in the
health ledger; any other ``PlaceFault`` (its exporter gone) is.
"""

from __future__ import annotations

from lab.results.outputs import RunFailed


class PlaceFault(RunFailed):
    """The place failed under the run; the message names the place and the fault."""


class PlaceLost(PlaceFault):
    """The place is no longer this client's: nothing the run measured from then on is its."""
