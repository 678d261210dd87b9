"""Who is making the current request (or running the current job), and what they may do.

Set once per request by the api layer's auth middleware, read by the api layer to enforce an
operation's scope and by the services to record authorship (``createdBy``/``updatedBy``). A
context variable: it follows the request into the worker thread its service runs in.

Scopes: ``read`` < ``write`` < ``admin``, each either for every workspace or, written
``write:<workspaceId>``, for one.
"""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass, field

LEVELS = ("read", "write", "admin")


@dataclass(frozen=True)
class Principal:
    name: str
    #: scope -> the workspaces it covers (None: every workspace)
    scopes: dict[str, frozenset[uuid.UUID] | None] = field(default_factory=dict)

    def may(self, level: str) -> bool:
        """Whether some scope at ``level`` or above covers at least one workspace."""
        return any(scope in self.scopes for scope in LEVELS[LEVELS.index(level) :])

    def workspaces_for(self, level: str) -> frozenset[uuid.UUID] | None:
        """The workspaces this principal may act on at ``level`` (None: all of them)."""
        found: set[uuid.UUID] = set()
        for scope in LEVELS[LEVELS.index(level) :]:
            if scope not in self.scopes:
                continue
            workspaces = self.scopes[scope]
            if workspaces is None:
                return None
            found |= workspaces
        return frozenset(found)


EVERYTHING: dict[str, frozenset[uuid.UUID] | None] = {"admin": None}

#: what runs with no request behind it (scheduled jobs), and a server without a password
SCHEDULER = Principal("scheduler", EVERYTHING)
ANONYMOUS = Principal("anonymous", EVERYTHING)

_current: contextvars.ContextVar[Principal] = contextvars.ContextVar("airpipe_principal", default=ANONYMOUS)


def current() -> Principal:
    return _current.get()


def set_current(principal: Principal) -> contextvars.Token[Principal]:
    return _current.set(principal)


def reset(token: contextvars.Token[Principal]) -> None:
    _current.reset(token)


def parse_scopes(scopes: list[str]) -> dict[str, frozenset[uuid.UUID] | None]:
    """``["read", "write:<workspaceId>"]`` as the mapping a Principal holds. ValueError names a
    scope that is not one of these."""
    everywhere: set[str] = set()
    some: dict[str, set[uuid.UUID]] = {}
    for text in scopes:
        level, _, workspace = text.partition(":")
        if level not in LEVELS:
            raise ValueError(f"unknown scope {text!r}: use read, write or admin, optionally :<workspaceId>")
        if not workspace:
            everywhere.add(level)
            continue
        try:
            some.setdefault(level, set()).add(uuid.UUID(workspace))
        except ValueError:
            raise ValueError(f"scope {text!r}: {workspace!r} is not a workspace id") from None
    parsed: dict[str, frozenset[uuid.UUID] | None] = {level: frozenset(ids) for level, ids in some.items()}
    parsed.update(dict.fromkeys(everywhere))  # a scope for every workspace covers the limited ones
    return parsed
