"""Running a connector: exactly five verbs, as Airbyte's IntegrationLauncher has.

``spec``, ``check`` and ``discover`` run to completion under a timeout and return one message;
``read`` and ``write`` start a long-running process and hand it back as a ConnectorProcess whose
stdout (and, for ``write``, stdin) the caller pumps.

Inputs go the way Airbyte's CLI takes them: config, catalog and state are passed as ``--config PATH
--catalog PATH --state PATH``, paths of in-memory files where the OS allows (``inputs.py``). Each
process runs in a private run directory of its own (``rundir.py``), confined there and to the local
root when a ``Sandbox`` is given (``sandbox.py``).

Every connector runs in its own session, so stopping it stops the whole process group (a shell
wrapper and its children included): SIGTERM first, SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from airpipe.connectors.errors import ConnectorError, ConnectorTimeout
from airpipe.connectors.inputs import Inputs
from airpipe.connectors.process_group import describe_exit, die_with_parent, stop
from airpipe.connectors.rundir import RunDir
from airpipe.connectors.sandbox import Sandbox
from airpipe.connectors.stream import LogCallback, parse_line, quote
from airpipe.protocol import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteErrorTraceMessage,
    AirbyteMessage,
    ConfiguredAirbyteCatalog,
    ConnectorSpecification,
    FailureType,
    MessageType,
    Status,
)

#: the only variables a connector inherits from our environment; the rest (database URL, passwords)
#: stays with us, since a connector can be any third-party program. Add more with ``env=``.
INHERITED_ENV = (
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
    "PYTHONPATH", "VIRTUAL_ENV", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
)  # fmt: skip

#: how many log lines a ConnectorError quotes
LAST_LINES = 20

_PIPE_BUFFER = 1 << 16


def _ignore_log(level: str, message: str) -> None:
    pass


class Launcher:
    """Runs one connector command.

    Parameters:
        command: the connector's argv prefix, e.g. ``["source-faker"]`` or
            ``[sys.executable, "-m", "airpipe.sources.faker"]`` (see ``registry.resolve``).
        env: variables for the connector, on top of the few in ``INHERITED_ENV``.
        timeout: seconds ``spec``/``check``/``discover`` may run before being killed.
            ``read`` and ``write`` have no timeout: the caller owns their lifetime.
        on_log: ``on_log(level, message)`` receives the connector's LOG messages at their own level,
            non-JSON stdout lines at INFO, invalid messages and stderr lines at ERROR (stderr is
            where tracebacks go; Airbyte logs it at ERROR too). Levels are Airbyte's, upper case.
            It is called from a background thread as well (stderr), so it must be thread-safe.
        kill_grace: seconds between SIGTERM and SIGKILL when a connector is stopped.
        run_root: where each process gets its run directory (``<data dir>/run``); None: the
            system's temporary directory.
        sandbox: how to confine the process (None: not at all, and configs are passed as given).
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = 300.0,
        on_log: LogCallback | None = None,
        kill_grace: float = 5.0,
        run_root: Path | None = None,
        sandbox: Sandbox | None = None,
    ) -> None:
        if not command:
            raise ValueError("a connector command needs at least the program")
        self.command = list(command)
        self.env = dict(env or {})
        self.timeout = timeout
        self.on_log = on_log if on_log is not None else _ignore_log
        self.kill_grace = kill_grace
        self.run_root = run_root
        self.sandbox = sandbox

    # THE FIVE VERBS

    def spec(self) -> ConnectorSpecification:
        message = self._run("spec", {}, MessageType.SPEC)
        assert message.spec is not None
        return message.spec

    def check(self, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """A FAILED status is an answer, not an error; so is a check that fails with a config error
        (some connectors report a bad config as a TRACE error instead of a status)."""
        message = self._run("check", {"config": config}, MessageType.CONNECTION_STATUS, answer_config_errors=True)
        assert message.connection_status is not None
        return message.connection_status

    def discover(self, config: Mapping[str, Any]) -> AirbyteCatalog:
        message = self._run("discover", {"config": config}, MessageType.CATALOG)
        assert message.catalog is not None
        return message.catalog

    def read(
        self,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog | Mapping[str, Any],
        state: Sequence[Any] | Mapping[str, Any] | None = None,
    ) -> ConnectorProcess:
        """Start the source; its stdout is the message stream. ``state`` is the list of
        AirbyteStateMessages (or a LEGACY state blob) to resume from; None starts afresh."""
        inputs: dict[str, Any] = {"config": config, "catalog": catalog}
        if state is not None:
            inputs["state"] = state
        return self._start("read", inputs, stdin=False)

    def write(self, config: Mapping[str, Any], catalog: ConfiguredAirbyteCatalog | Mapping[str, Any]) -> ConnectorProcess:
        """Start the destination; write message lines to its stdin and read the STATE messages it
        echoes from its stdout. Closing stdin means "all input arrived, commit"; to abandon the
        write (the source failed, the job was cancelled) call ``kill()`` instead."""
        return self._start("write", {"config": config, "catalog": catalog}, stdin=True)

    # PROCESSES

    def _start(self, verb: str, inputs: Mapping[str, Any], *, stdin: bool) -> ConnectorProcess:
        run_dir = RunDir.create(self.run_root) if self.run_root is not None else RunDir.temporary()
        files: Inputs | None = None
        try:
            if self.sandbox is not None and "config" in inputs:
                inputs = {**inputs, "config": self.sandbox.config(inputs["config"])}
            files = Inputs(inputs, run_dir.path)
            try:
                process, sandboxed = self._popen(verb, files, run_dir.path, stdin=stdin)
            finally:
                files.close()  # the child has its own descriptors of the in-memory inputs now
        except BaseException:
            if files is not None:
                files.remove()
            run_dir.remove()
            raise
        return ConnectorProcess(process, files, run_dir, on_log=self.on_log, kill_grace=self.kill_grace, sandboxed=sandboxed)

    def _popen(self, verb: str, files: Inputs, run_dir: Path, *, stdin: bool) -> tuple[subprocess.Popen[bytes], bool]:
        env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
        env.update(self.env)
        argv = [*self.command, verb, *files.args]
        sandboxed = False
        if self.sandbox is not None:
            wrapped, env = self.sandbox.wrap(argv, env, run_dir)
            argv, sandboxed = wrapped, wrapped != argv
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=run_dir,  # relative paths resolve in the connector's own directory
                pass_fds=files.pass_fds,
                bufsize=_PIPE_BUFFER,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ConnectorError(f"cannot start connector `{self.command[0]}`: {reason}") from None
        return process, sandboxed

    def _run(self, verb: str, inputs: Mapping[str, Any], expect: MessageType, *, answer_config_errors: bool = False) -> AirbyteMessage:
        with self._start(verb, inputs, stdin=False) as process:
            timer = threading.Timer(self.timeout, process._time_out)
            timer.daemon = True
            timer.start()
            answer: AirbyteMessage | None = None
            try:
                for line in process.stdout:
                    message = process.handle_line(line)
                    if message is not None and message.type is expect and answer is None:
                        answer = message
                code = process.wait()  # still under the timer: stdout may close before the exit
            finally:
                timer.cancel()
                timer.join()  # if it fired, it is stopping the process: let it finish
            process.join_stderr()
        error = process.trace_error
        if process.timed_out:
            raise ConnectorTimeout(f"connector {verb} timed out after {self.timeout:g} s", process.last_lines)
        if answer is not None and (code == 0 or answer_config_errors):
            return answer
        if answer_config_errors and error is not None and error.failure_type is FailureType.config_error:
            return AirbyteMessage(
                type=MessageType.CONNECTION_STATUS,
                connection_status=AirbyteConnectionStatus(status=Status.FAILED, message=error.message),
            )
        if error is not None:
            failure_type = error.failure_type.value if error.failure_type is not None else None
            raise ConnectorError(error.message, process.last_lines, failure_type=failure_type)
        if code != 0:
            raise ConnectorError(f"connector {verb} {describe_exit(code)}", process.last_lines)
        raise ConnectorError(f"connector {verb} exited without a {expect.value} message", process.last_lines)


class ConnectorProcess:
    """A running ``read`` or ``write``: binary ``stdin`` (``write`` only, else None) and ``stdout``.

    Iterating yields stdout lines as bytes. stderr is drained in a background thread into
    ``on_log``. Use it as a context manager: leaving the block stops the process if it is still
    running (see ``kill``), waits for it and removes its run directory and input files.
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        files: Inputs,
        run_dir: RunDir,
        *,
        on_log: LogCallback,
        kill_grace: float,
        sandboxed: bool = False,
    ) -> None:
        assert process.stdout is not None and process.stderr is not None
        self.process = process
        self.pid = process.pid
        self.stdin: IO[bytes] | None = process.stdin
        self.stdout: IO[bytes] = process.stdout
        self.on_log = on_log
        self.kill_grace = kill_grace
        self.timed_out = False
        #: the first TRACE error seen by ``handle_line`` (usually the cause; later ones follow from it)
        self.trace_error: AirbyteErrorTraceMessage | None = None
        self._files = files
        self._run_dir = run_dir
        #: runs inside bubblewrap (the process is bwrap's)
        self.sandboxed = sandboxed
        self._stopping = threading.Lock()
        self._last_lines: deque[str] = deque(maxlen=LAST_LINES)
        self._stderr = threading.Thread(target=self._drain_stderr, args=(process.stderr,), name=f"connector-{self.pid}-stderr", daemon=True)
        self._stderr.start()

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.stdout)

    def __enter__(self) -> ConnectorProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @property
    def last_lines(self) -> list[str]:
        """The last log lines (stderr, LOG messages, junk) as ``"LEVEL message"``, oldest first."""
        return list(self._last_lines)

    def log(self, level: str, message: str) -> None:
        """Pass a line to ``on_log`` and remember it for error messages."""
        self._last_lines.append(f"{level} {message}")
        self.on_log(level, message)

    def handle_line(self, line: bytes) -> AirbyteMessage | None:
        """Parse one stdout line, logging what is a log (LOG messages, TRACE errors, junk lines).

        Returns the message (LOG and TRACE included) or None for a line that was not one.
        """
        message = parse_line(line, self.log)
        if message is None:
            return None
        if message.log is not None and message.type is MessageType.LOG:
            text = message.log.message
            if message.log.stack_trace:
                text += "\n" + message.log.stack_trace
            self.log(message.log.level.value, text)
        elif message.trace is not None and message.trace.error is not None:
            error = message.trace.error
            if self.trace_error is None:
                self.trace_error = error
            detail = f" ({error.internal_message})" if error.internal_message else ""
            self.log("ERROR", error.message + detail)
        return message

    def wait(self, timeout: float | None = None) -> int:
        """The exit code; raises ``subprocess.TimeoutExpired`` if it is still running after ``timeout``."""
        return self.process.wait(timeout)

    def kill(self, grace: float | None = None) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after ``grace`` seconds
        (default: the launcher's ``kill_grace``). Safe to call from another thread and more than once."""
        # One stop at a time: a second SIGTERM (the pump and the cancel both stopping a destination)
        # would interrupt the clean-up the first one started.
        with self._stopping:
            stop(self.process, self.kill_grace if grace is None else grace, spare_leader=self.sandboxed)

    def join_stderr(self, timeout: float | None = 5.0) -> None:
        """Wait until every stderr line has reached ``on_log`` (call after the process exited)."""
        self._stderr.join(timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self.process.wait()
        for pipe in (self.stdin, self.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:  # a destination that died leaves a broken stdin behind
                    pass
        self.join_stderr()
        self._files.remove()
        self._run_dir.remove()

    def _time_out(self) -> None:
        if self.process.poll() is None:
            self.timed_out = True
            self.kill()

    def _drain_stderr(self, pipe: IO[bytes]) -> None:
        with pipe:
            for line in pipe:
                if line.strip():
                    # A failing callback must not stop the draining: the connector would block
                    # on a full stderr pipe.
                    try:
                        self.log("ERROR", quote(line))
                    except Exception:
                        pass
