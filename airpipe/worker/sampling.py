"""A sample of a source's records: read one stream until enough records came, the time is up or
the source ended, then stop it. The records go back to whoever asked; none is logged or stored
(the source's own log lines are, as in any job)."""

from __future__ import annotations

import threading
from typing import Any

from airpipe.connectors.errors import ConnectorError
from airpipe.connectors.launcher import Launcher
from airpipe.protocol import MessageType
from airpipe.worker.job_configs import SampleJob


def read_sample(source: Launcher, job: SampleJob) -> list[dict[str, Any]]:
    stream = job.stream
    catalog = {"streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "append"}]}
    records: list[dict[str, Any]] = []
    timed_out = threading.Event()
    with source.read(job.config, catalog) as process:

        def time_up() -> None:  # reading stdout blocks while a source is silent: this stops it
            timed_out.set()
            process.kill()

        timer = threading.Timer(job.seconds, time_up)
        timer.start()
        try:
            for line in process:
                message = process.handle_line(line)
                if message is not None and message.type is MessageType.RECORD and message.record is not None:
                    if message.record.stream == stream["name"]:
                        records.append(message.record.data)
                if len(records) >= job.limit or timed_out.is_set():
                    break
        finally:
            timer.cancel()
        stopped_early = len(records) >= job.limit or timed_out.is_set()  # close() stops the source then
        if not stopped_early and not records and process.wait() != 0:
            error = process.trace_error
            reason = error.message if error is not None else f"the source exited with code {process.returncode}"
            kind = error.failure_type.value if error is not None and error.failure_type is not None else None
            raise ConnectorError(reason, process.last_lines, failure_type=kind)
    return records
