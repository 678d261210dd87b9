"""An attempt's log: lines from the connectors and the runner, scrubbed of secrets, stored in
batches (one INSERT per batch, not per line) and capped so a chatty connector cannot fill the
database.

Lines are stored only by the thread that opened the log (the runner's, which ticks every second):
a pump or drain thread that stored them would need a database connection of its own, and a
failed INSERT there would kill the thread that moves the data. Text is made storable first: a
NUL byte or a lone surrogate, which PostgreSQL's text type rejects, becomes U+FFFD."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

from airpipe.models import LogLine, now
from airpipe.worker.scrubbing import Scrubber

MAX_LINES = 50_000
MAX_LINE_LENGTH = 10_000
FLUSH_EVERY = 200
_SURROGATE = re.compile("[\ud800-\udfff]")


class AttemptLog:
    def __init__(self, attempt_id: int, secrets: Iterable[str] = ()) -> None:
        self.attempt_id = attempt_id
        self.scrubber = Scrubber(secrets)
        self.pending: list[dict[str, object]] = []
        self.written = 0
        self.dropped = 0
        self.last: list[str] = []
        self.lock = threading.Lock()
        self.owner = threading.get_ident()

    def __call__(self, level: str, message: str) -> None:
        """The ``on_log`` callback handed to the launcher; safe from any thread."""
        message = storable(self.scrub(message))
        if len(message) > MAX_LINE_LENGTH:
            message = message[:MAX_LINE_LENGTH] + "... (line cut)"
        with self.lock:
            self.last = (self.last + [message])[-20:]
            if self.written + len(self.pending) >= MAX_LINES:
                self.dropped += 1
                return
            self.pending.append({"attempt": self.attempt_id, "timestamp": now(), "level": level.upper(), "message": message})
            full = len(self.pending) >= FLUSH_EVERY
        if full and threading.get_ident() == self.owner:
            self.flush()

    def scrub(self, text: str) -> str:
        """``text`` with every secret of the job's configs masked, in every spelling."""
        return self.scrubber(text)

    def info(self, message: str) -> None:
        self("INFO", message)

    def error(self, message: str) -> None:
        self("ERROR", message)

    def flush(self) -> None:
        with self.lock:
            batch, self.pending = self.pending, []
        if batch:
            LogLine.insert_many(batch).execute()
            self.written += len(batch)

    def close(self) -> None:
        if self.dropped:
            with self.lock:
                self.pending.append(
                    {
                        "attempt": self.attempt_id,
                        "timestamp": now(),
                        "level": "WARN",
                        "message": f"{self.dropped} more log lines were dropped (the limit is {MAX_LINES} per attempt)",
                    }
                )
        self.flush()


def storable(text: str) -> str:
    """``text`` with what a database text column refuses (NUL, lone surrogates) as U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = _SURROGATE.sub("\ufffd", text)
    return text
