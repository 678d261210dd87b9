"""One sync attempt: the source's `read` piped into the destination's `write`.

RECORD lines pass through as the raw bytes they arrived as; the pump only peeks at their type
and stream to count them. A RECORD it cannot pass on (its text is not valid Unicode, see
``stream.bad_record``) fails the attempt, never vanishes; one whose bad text the pump does not
see (a run of records passed on unread) fails the destination, by the same rule. STATE messages
from the source go to the destination; the ones the destination echoes back are the
checkpoints. Two threads move bytes; the calling thread owns the database (peewee connections
are per thread): it saves progress, checkpoints and log lines every second, and watches for a
cancel.
"""

from __future__ import annotations

import collections
import fcntl
import io
import threading
import time
from typing import Any, cast

import msgspec

from airpipe.connectors.errors import ConnectorError
from airpipe.connectors.launcher import ConnectorProcess, Launcher
from airpipe.connectors.stream import BadRecord, bad_record, peek_type
from airpipe.models import Attempt, Job, now
from airpipe.protocol import MessageType
from airpipe.worker import checkpoints, record_runs
from airpipe.worker.attempt_log import AttemptLog
from airpipe.worker.checkpoints import state_input
from airpipe.worker.job_configs import SyncStream
from airpipe.worker.record_runs import BlockRouter, StreamCount

__all__ = ["SyncFailure", "SyncRun", "state_input"]

#: how often (seconds) progress is saved and a cancel is looked for
TICK = 1.0
#: a cancelled or silent sync's connectors get this long (seconds) after SIGTERM before SIGKILL,
#: so they are gone within five seconds of the cancel
STOP_GRACE = 2.0
#: how much of the source's output is read and routed at once, and the size asked of the pipes
CHUNK = 1 << 20
PIPE_SIZE = 1 << 20

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


class SyncFailure(ConnectorError):
    def __init__(self, message: str, last_lines: list[str], *, origin: str, failure_type: str | None = None) -> None:
        super().__init__(message, last_lines, failure_type=failure_type)
        self.origin = origin


class SyncRun:
    def __init__(
        self,
        *,
        job_id: int,
        attempt_id: int,
        connection_id: str,
        streams: list[SyncStream],
        state: Any,
        log: AttemptLog,
        silence_timeout: float = 1800.0,
    ) -> None:
        self.job_id = job_id
        self.attempt_id = attempt_id
        self.connection_id = connection_id
        self.streams = streams
        self.state = state
        self.log = log
        self.counters = {s.key: StreamCount() for s in streams}
        # a stream whose destination name differs (prefix, alias, namespace) needs its records rewritten
        self.renames = {s.key: s.destination_key for s in streams if s.destination_key != s.key}
        self.states_emitted = 0
        #: (stream, namespace) -> (rows, bytes) the source estimated in TRACE ESTIMATE messages
        self.estimates: dict[tuple[str, str | None], tuple[int | None, int | None]] = {}
        #: records passed before each STATE sent to the destination, oldest first
        self.records_at_state: collections.deque[int] = collections.deque()
        self.records_committed = 0
        self.echoed: list[dict[str, Any]] = []
        self.echo_lock = threading.Lock()
        #: a RECORD the pump could not pass on (the source's own TRACE errors: ``ConnectorProcess.trace_error``)
        self.source_error: str | None = None
        self.processes: dict[str, ConnectorProcess] = {}  # "source", "destination"
        self.broken_pipe = False
        self.cancelled = False
        self.source_code: int | None = None
        self.silence_timeout = silence_timeout
        self.silent = False
        self.last_source_line = time.monotonic()
        #: why the pump or drain thread died, if it did: the attempt fails with it
        self.thread_error: str | None = None

    @property
    def records_total(self) -> int:
        return sum(counter.records for counter in self.counters.values())

    # CATALOGS

    def source_catalog(self) -> dict[str, Any]:
        return {"streams": [s.for_source() for s in self.streams]}

    def destination_catalog(self) -> dict[str, Any]:
        return {"streams": [s.for_destination() for s in self.streams]}

    # RUNNING

    def execute(self, source: Launcher | None, source_config: Any, destination: Launcher, destination_config: Any) -> None:
        """Run the attempt to its end; raises SyncFailure if either side failed."""
        self.log.info(f"sync of {len(self.streams)} stream(s) starting")
        dest_process = destination.write(destination_config, self.destination_catalog())
        source_process = source.read(source_config, self.source_catalog(), self.state) if source else None
        processes = [p for p in (source_process, dest_process) if p is not None]
        self.processes = {"destination": dest_process, **({"source": source_process} if source_process else {})}
        try:
            pump = threading.Thread(target=self._guarded, args=(self._pump, processes, source_process, dest_process), daemon=True)
            drain = threading.Thread(target=self._guarded, args=(self._drain, processes, dest_process), daemon=True)
            pump.start()
            drain.start()
            while pump.is_alive() or drain.is_alive():
                pump.join(TICK) if pump.is_alive() else drain.join(TICK)
                self._save_progress()
                self.cancelled = self._is_cancelled()
                self.silent = pump.is_alive() and time.monotonic() - self.last_source_line > self.silence_timeout
                if self.cancelled or self.silent:
                    for process in processes:
                        process.kill(grace=STOP_GRACE)
                    pump.join()
                    drain.join()
                    break
            source_code = source_process.wait(30) if source_process else 0
            dest_code = dest_process.wait(30)
        finally:
            for process in processes:
                process.kill()
                process.close()
            self._save_progress()
        if self.cancelled:
            return
        self._raise_failure(source_code, dest_code)
        self.records_committed = self.records_total
        self._save_progress()
        self.log.info(f"sync finished: {self.records_total} records, {self.states_emitted} state messages")

    def _guarded(self, work: Any, processes: list[ConnectorProcess], *args: Any) -> None:
        """Run the pump or the drain; if it dies, stop both connectors so the other thread and the
        runner's loop end within a tick, and keep the reason the attempt will fail with."""
        try:
            work(*args)
        except BaseException as exc:  # noqa: BLE001 - whatever kills the thread must end the attempt
            if self.thread_error is None:
                self.thread_error = f"the sync engine's {work.__name__.strip('_')} thread failed: {exc.__class__.__name__}: {exc}"
            for process in processes:
                process.kill()

    def _pump(self, source: ConnectorProcess | None, destination: ConnectorProcess) -> None:
        """Source stdout to destination stdin. Runs in its own thread; touches no database.

        The end of the destination's input means "commit": it is closed only after a source that
        succeeded. After a failed source the destination is killed instead, so an overwrite
        leaves the previous data in place and only states it already echoed count.
        """
        out = destination.stdin
        assert out is not None  # a write process has one
        _widen_pipe(out)
        try:
            if source is not None:
                _widen_pipe(source.stdout)
                try:
                    self._pump_blocks(source, out)
                except BadRecord as exc:  # the attempt fails with it; the destination commits nothing
                    self.source_error = str(exc)
                    self.log("ERROR", f"source error: {exc}")
                    source.kill()
                self.source_code = source.wait(30)
        except (BrokenPipeError, ValueError):
            self.broken_pipe = True  # the destination went away; its exit code tells why
            if source is not None:
                source.kill()
            return
        if source is not None and (self.source_code != 0 or self.source_error):
            destination.kill()
            return
        try:
            out.close()
        except (BrokenPipeError, OSError):
            self.broken_pipe = True

    def _pump_blocks(self, source: ConnectorProcess, out: Any) -> None:
        stdout, router = cast(io.BufferedIOBase, source.stdout), self._block_router()  # a pipe: a buffered reader
        pending = b""
        while True:
            chunk = stdout.read1(CHUNK)
            if not chunk:
                break
            self.last_source_line = time.monotonic()
            data = pending + chunk if pending else chunk
            cut = data.rfind(b"\n") + 1
            block, pending = data[:cut], data[cut:]
            for line in router.route(block, out.write):
                self._route(line, out, source)
        if pending:
            self._route(pending, out, source)

    def _block_router(self) -> BlockRouter:
        heads: dict[bytes, tuple[StreamCount, bytes | None]] = {}
        for (name, namespace), counter in self.counters.items():
            target = self.renames.get((name, namespace))
            heads[record_runs.head(name, namespace)] = (counter, record_runs.head(*target) if target else None)
        return BlockRouter(heads)

    def _route(self, line: bytes, out: Any, source: ConnectorProcess) -> None:
        """A line the block router did not pass on: a record to count (and rename), a state to
        forward, a progress estimate; logs and errors are the source process's to handle."""
        peek = peek_type(line)
        if peek is not None and peek[0] == "RECORD":
            key = (peek[1] or "", peek[2])  # a RECORD's peek names its stream
            counter = self.counters.get(key)
            if counter is None:
                self.log("WARN", f"record of stream {peek[1]} that is not in the catalog dropped")
                return
            counter.records += 1
            counter.bytes += len(line)
            if key in self.renames:
                line = self._renamed(line, *self.renames[key])
            out.write(line if line.endswith(b"\n") else line + b"\n")
            return
        message = source.handle_line(line)
        if message is None:
            return
        if message.type is MessageType.STATE:
            self.states_emitted += 1
            self.records_at_state.append(self.records_total)
            out.write(line if line.endswith(b"\n") else line + b"\n")
            out.flush()
        elif message.trace is not None and message.trace.estimate is not None:
            estimate = message.trace.estimate  # progress: what the source expects to send
            self.estimates[(estimate.name, estimate.namespace)] = (estimate.row_estimate, estimate.byte_estimate)

    def _renamed(self, line: bytes, name: str, namespace: str | None) -> bytes:
        try:
            message = _decode(line)
        except msgspec.DecodeError as exc:
            raise BadRecord(bad_record(line) or f"a record could not be renamed: {exc}") from None
        message["record"]["stream"] = name
        if namespace is None:
            message["record"].pop("namespace", None)
        else:
            message["record"]["namespace"] = namespace
        return _encode(message) + b"\n"

    def _drain(self, destination: ConnectorProcess) -> None:
        """Destination stdout: echoed states are checkpoints; the rest is logged."""
        for line in destination.stdout:
            message = destination.handle_line(line)  # logs LOG messages, TRACE errors and junk lines
            if message is not None and message.type is MessageType.STATE and message.state is not None:
                with self.echo_lock:
                    self.echoed.append(msgspec.to_builtins(message.state))
                    if self.records_at_state:
                        self.records_committed = self.records_at_state.popleft()

    # BOOKKEEPING (calling thread only)

    def _save_progress(self) -> None:
        with self.echo_lock:
            echoed, self.echoed = self.echoed, []
        checkpoints.save(self.connection_id, echoed)
        self.log.flush()
        stream_stats = [
            {"streamName": name, "stats": {"recordsEmitted": c.records, "bytesEmitted": c.bytes}} for (name, _), c in self.counters.items()
        ]
        total_bytes = sum(c.bytes for c in self.counters.values())
        total = {
            "recordsEmitted": self.records_total,
            "bytesEmitted": total_bytes,
            "stateMessagesEmitted": self.states_emitted,
            "recordsCommitted": self.records_committed,
        }
        rows = [rows for rows, _ in self.estimates.values() if rows is not None]
        sizes = [size for _, size in self.estimates.values() if size is not None]
        if rows:
            total["estimatedRecords"] = sum(rows)
        if sizes:
            total["estimatedBytes"] = sum(sizes)
        Attempt.update(
            records_synced=self.records_total,
            bytes_synced=total_bytes,
            stats={"totalStats": total, "streamStats": stream_stats},
            updated_at=now(),
        ).where(Attempt.id == self.attempt_id).execute()

    def _is_cancelled(self) -> bool:
        status: str | None = Job.select(Job.status).where(Job.id == self.job_id).scalar()
        return status == "cancelled"

    def _raise_failure(self, source_code: int, dest_code: int) -> None:
        last = self.log.last[-10:]
        if self.thread_error:
            raise SyncFailure(self.thread_error, last, origin="replication")
        if self.silent:
            raise SyncFailure(f"the source sent nothing for {self.silence_timeout:g} s and was stopped", last, origin="source")
        # What a connector said beats an exit code: a destination that dies takes the source down
        # with it (the pump kills it), and the failure belongs to the destination.
        source_error, source_type = _reported_error(self.processes.get("source"))
        if self.source_error or source_error:
            raise SyncFailure(self.source_error or source_error or "", last, origin="source", failure_type=source_type)
        destination_error, destination_type = _reported_error(self.processes.get("destination"))
        if destination_error or self.broken_pipe:
            message = destination_error or f"the destination stopped reading and exited with code {dest_code}"
            raise SyncFailure(message, last, origin="destination", failure_type=destination_type)
        if source_code != 0:
            raise SyncFailure(f"the source exited with code {source_code}", last, origin="source")
        if dest_code != 0:
            raise SyncFailure(f"the destination exited with code {dest_code}", last, origin="destination")


def _reported_error(process: ConnectorProcess | None) -> tuple[str | None, str | None]:
    """The first TRACE error a connector reported (usually the cause), and its failure type."""
    error = process.trace_error if process is not None else None
    if error is None:
        return None, None
    return error.message, error.failure_type.value if error.failure_type else None


def _widen_pipe(file: Any) -> None:
    """Larger pipes mean fewer context switches between the three processes of a sync."""
    try:
        fcntl.fcntl(file.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (OSError, AttributeError, ValueError):
        pass  # not Linux, or over /proc/sys/fs/pipe-max-size: the default size works too
