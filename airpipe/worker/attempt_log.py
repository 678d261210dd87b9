"""An attempt's log: lines from the connectors and the runner, scrubbed of secrets, stored in
batches (one INSERT per batch, not per line) and capped so a chatty connector cannot fill the
database."""

from __future__ import annotations

import threading

from airpipe.models import LogLine, now
from airpipe.worker.scrubbing import Scrubber

MAX_LINES = 50_000
MAX_LINE_LENGTH = 10_000
FLUSH_EVERY = 200


class AttemptLog:
    def __init__(self, attempt_id: int, secrets: list[str] = ()) -> None:  # type: ignore[assignment]
        self.attempt_id = attempt_id
        self.scrubber = Scrubber(secrets)
        self.pending: list[dict[str, object]] = []
        self.written = 0
        self.dropped = 0
        self.last: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, level: str, message: str) -> None:
        """The ``on_log`` callback handed to the launcher; safe from any thread."""
        message = self.scrub(message)
        if len(message) > MAX_LINE_LENGTH:
            message = message[:MAX_LINE_LENGTH] + "... (line cut)"
        with self.lock:
            self.last = (self.last + [message])[-20:]
            if self.written + len(self.pending) >= MAX_LINES:
                self.dropped += 1
                return
            self.pending.append({"attempt": self.attempt_id, "timestamp": now(), "level": level.upper(), "message": message})
            full = len(self.pending) >= FLUSH_EVERY
        if full:
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
