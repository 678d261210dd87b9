"""When a destination may echo a STATE: the checkpoint rule every built-in destination keeps.

A STATE says "everything before me is durably written". So it is echoed only once everything
before it is committed: it is *pending* until the next commit. A state that covers an
``overwrite`` stream (a GLOBAL or LEGACY state covers every stream, so any overwritten one) is
*held* to the end instead, since that stream's new data is only in place once the write swaps it
in; of those only the latest per stream is kept, as each supersedes the one before and memory
must stay bounded.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable


class StateGate:
    def __init__(self, overwritten: Collection[Hashable]) -> None:
        self.overwritten = overwritten  # the keys of the overwritten streams
        self.pending: list[bytes] = []
        self.held: dict[Hashable, bytes] = {}

    def add(self, stream: Hashable, line: bytes) -> bool:
        """Keep the state ``line`` (without its newline) of ``stream`` (None: a global or legacy
        state); returns True if it is pending (echoed after the next commit), False if held."""
        if (stream in self.overwritten) if stream is not None else bool(self.overwritten):
            self.held.pop(stream, None)  # the latest goes last
            self.held[stream] = line + b"\n"
            return False
        self.pending.append(line + b"\n")
        return True

    def take_pending(self) -> list[bytes]:
        """The pending states, to echo once the commit they wait for is done."""
        pending, self.pending = self.pending, []
        return pending

    def held_states(self) -> Iterable[bytes]:
        """The held states, to echo at the end, after the swap."""
        return self.held.values()
