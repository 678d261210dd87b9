"""The command line every built-in connector shares, as airbyte-cdk's ``entrypoint.py`` is shared.

::

    python -m <connector> spec
    python -m <connector> check    --config CONFIG
    python -m <connector> discover --config CONFIG                                  (sources)
    python -m <connector> read     --config CONFIG --catalog CATALOG [--state STATE] (sources)
    python -m <connector> write    --config CONFIG --catalog CATALOG                 (destinations)

A connector is a ``Source`` or ``Destination`` subclass; ``main(connector)`` does the rest: reads
the files, validates the config against the connector's spec, and prints one JSON message a line.

Failures follow the protocol, never a traceback on stdout: a TRACE ERROR message (failure_type
``config_error`` for ``ConfigError``, ``system_error`` for anything else) and exit code 1; the
traceback goes to stderr. ``check`` answers every failure with a FAILED CONNECTION_STATUS instead.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
from types import FrameType
from typing import IO, Any, NoReturn

import msgspec

from airpipe.protocol import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteErrorTraceMessage,
    AirbyteMessage,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteTraceMessage,
    ConfiguredAirbyteCatalog,
    ConnectorSpecification,
    FailureType,
    MessageType,
    Status,
    TraceType,
    decode_configured_catalog,
    encode_into,
)

#: stdout is written in chunks of about this size (records); anything else is flushed at once
FLUSH_SIZE = 1 << 16


class ConfigError(Exception):
    """A problem the user can fix in the config (or state): reported as failure_type config_error."""


class Connector:
    def spec(self) -> ConnectorSpecification:
        raise NotImplementedError

    def check(self, config: dict[str, Any]) -> AirbyteConnectionStatus:
        """Raise (preferably ConfigError with a clear message) or return FAILED when it cannot work."""
        raise NotImplementedError


class Source(Connector):
    def discover(self, config: dict[str, Any]) -> AirbyteCatalog:
        raise NotImplementedError

    def read(
        self, config: dict[str, Any], catalog: ConfiguredAirbyteCatalog, state: list[AirbyteStateMessage]
    ) -> Iterable[AirbyteMessage | bytes | bytearray]:
        """Messages to print. ``bytes`` items are pre-encoded RECORD lines, each ending in a newline
        (the fast path for sources that build JSON themselves), written out in large chunks. ``state`` is [] on a first sync; a
        LEGACY state blob arrives as one AirbyteStateMessage of type LEGACY with the blob in ``data``."""
        raise NotImplementedError


class Destination(Connector):
    def write(self, config: dict[str, Any], catalog: ConfiguredAirbyteCatalog, input: IO[bytes]) -> Iterable[AirbyteMessage | bytes]:
        """Consume message lines from ``input`` (stdin); yield each STATE message once everything
        before it is durably written. ``bytes`` items are complete lines (newline included),
        flushed one by one: echo a STATE exactly as it arrived."""
        raise NotImplementedError


def main(connector: Connector, argv: Sequence[str] | None = None) -> NoReturn:
    sys.exit(launch(connector, argv))


def launch(connector: Connector, argv: Sequence[str] | None = None) -> int:
    """Run one verb; returns the exit code."""
    args = _parser(connector).parse_args(argv)
    # Connector code that print()s would corrupt the message stream: its text goes to stderr, and
    # only the Output below writes to the real stdout.
    stdout, sys.stdout = sys.stdout, sys.stderr
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so finally blocks (temp files) run on a kill
    try:
        return _run(connector, args, Output(stdout.buffer))
    except BrokenPipeError:
        # Whoever read our stdout is gone; nobody is left to tell. Keep the exit quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        return 1
    finally:
        sys.stdout = stdout


def _run(connector: Connector, args: argparse.Namespace, output: Output) -> int:
    try:
        if args.verb == "spec":
            output.message(AirbyteMessage(type=MessageType.SPEC, spec=connector.spec()))
        elif args.verb == "check":
            output.message(AirbyteMessage(type=MessageType.CONNECTION_STATUS, connection_status=_check(connector, args)))
        else:
            config = _load_config(connector, args.config)
            if args.verb == "discover":
                assert isinstance(connector, Source)
                output.message(AirbyteMessage(type=MessageType.CATALOG, catalog=connector.discover(config)))
            elif args.verb == "read":
                assert isinstance(connector, Source)
                catalog = _load_catalog(args.catalog)
                state = _load_state(args.state) if args.state else []
                output.messages(connector.read(config, catalog, state))
            else:
                assert isinstance(connector, Destination)
                catalog = _load_catalog(args.catalog)
                with open(sys.stdin.fileno(), "rb", buffering=FLUSH_SIZE, closefd=False) as stdin:
                    # A destination prints little but STATE echoes, and each is awaited: flush each.
                    output.messages(connector.write(config, catalog, stdin), flush_each=True)
    except BrokenPipeError:
        raise
    except Exception as exc:
        if not isinstance(exc, ConfigError):  # a config error's message says it all
            traceback.print_exc(file=sys.stderr)
        output.message(error_message(exc))
        return 1
    finally:
        output.flush()
    return 0


def _check(connector: Connector, args: argparse.Namespace) -> AirbyteConnectionStatus:
    try:
        config = _load_config(connector, args.config)
        return connector.check(config)
    except Exception as exc:
        if not isinstance(exc, ConfigError):
            traceback.print_exc(file=sys.stderr)
        return AirbyteConnectionStatus(status=Status.FAILED, message=str(exc) or type(exc).__name__)


def error_message(exc: BaseException) -> AirbyteMessage:
    """The TRACE ERROR message for an exception."""
    config_error = isinstance(exc, ConfigError)
    return AirbyteMessage(
        type=MessageType.TRACE,
        trace=AirbyteTraceMessage(
            type=TraceType.ERROR,
            emitted_at=int(time.time() * 1000),
            error=AirbyteErrorTraceMessage(
                message=str(exc) or type(exc).__name__,
                internal_message=repr(exc),
                stack_trace=None if config_error else "".join(traceback.format_exception(exc)),
                failure_type=FailureType.config_error if config_error else FailureType.system_error,
            ),
        ),
    )


# OUTPUT


class Output:
    """Buffered message lines on a binary stream: records are written in large chunks, every other
    message (STATE above all: the platform waits for it) is flushed at once."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.buffer = bytearray()

    def message(self, message: AirbyteMessage) -> None:
        buffer = self.buffer
        encode_into(message, buffer, len(buffer))
        buffer += b"\n"
        if message.type is not MessageType.RECORD:
            self.flush()
        elif len(buffer) >= FLUSH_SIZE:
            self._write()

    def lines(self, data: bytes | bytearray) -> None:
        """Pre-encoded RECORD lines, newline-terminated."""
        if self.buffer:
            self.buffer += data
            if len(self.buffer) >= FLUSH_SIZE:
                self._write()
        elif len(data) >= FLUSH_SIZE:
            self.stream.write(data)
        else:
            self.buffer += data

    def messages(self, messages: Iterable[AirbyteMessage | bytes | bytearray], *, flush_each: bool = False) -> None:
        for item in messages:
            if isinstance(item, (bytes, bytearray)):
                self.lines(item)
                if flush_each:
                    self.flush()
            else:
                self.message(item)

    def flush(self) -> None:
        self._write()
        self.stream.flush()

    def _write(self) -> None:
        if self.buffer:
            self.stream.write(self.buffer)
            self.buffer.clear()


# INPUTS


def _parser(connector: Connector) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=type(connector).__name__, description="An Airbyte-protocol connector.")
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("spec", help="print the connector's specification")
    verbs.add_parser("check", help="check a config can connect").add_argument("--config", required=True)
    if isinstance(connector, Source):
        verbs.add_parser("discover", help="print the streams").add_argument("--config", required=True)
        read = verbs.add_parser("read", help="print records and state")
        read.add_argument("--config", required=True)
        read.add_argument("--catalog", required=True)
        read.add_argument("--state")
    if isinstance(connector, Destination):
        write = verbs.add_parser("write", help="write the messages read from stdin")
        write.add_argument("--config", required=True)
        write.add_argument("--catalog", required=True)
    return parser


def _read_json(path: str, what: str) -> Any:
    try:
        with open(path, "rb") as f:
            return msgspec.json.decode(f.read())
    except (OSError, msgspec.DecodeError) as exc:
        raise ConfigError(f"cannot read the {what} file {path}: {exc}") from None


def _load_config(connector: Connector, path: str) -> dict[str, Any]:
    config = _read_json(path, "config")
    if not isinstance(config, dict):
        raise ConfigError("the config must be a JSON object")
    validate_config(config, connector.spec().connection_specification)
    return config


def _load_catalog(path: str) -> ConfiguredAirbyteCatalog:
    try:
        with open(path, "rb") as f:
            return decode_configured_catalog(f.read())
    except (OSError, msgspec.DecodeError) as exc:
        raise ValueError(f"cannot read the catalog file {path}: {exc}") from None


def _load_state(path: str) -> list[AirbyteStateMessage]:
    """A list of state messages; a single message; or a LEGACY blob (any other object)."""
    state = _read_json(path, "state")
    try:
        if isinstance(state, list):
            return msgspec.convert(state, list[AirbyteStateMessage])
        if not state:
            return []
        if isinstance(state, dict) and state.get("type") in ("STREAM", "GLOBAL", "LEGACY"):
            return [msgspec.convert(state, AirbyteStateMessage)]
        if isinstance(state, dict):
            return [AirbyteStateMessage(type=AirbyteStateType.LEGACY, data=state)]
    except msgspec.ValidationError as exc:
        raise ConfigError(f"the state is not valid: {exc}") from None
    raise ConfigError("the state must be a list of state messages or an object")


def validate_config(config: dict[str, Any], schema: dict[str, Any]) -> None:
    """Raise ConfigError naming every property of ``config`` that ``schema`` (JSON Schema) rejects."""
    import jsonschema  # only connectors that validate pay for the import

    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    errors = sorted(validator_class(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        summary = "; ".join(_describe(error) for error in errors)
        raise ConfigError(f"The provided configuration does not fulfill the specification: {summary}")


def _describe(error: Any) -> str:
    path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        if missing:
            return f"{path}.{missing[0]} is required"
    if isinstance(error.schema, dict) and error.schema.get("airbyte_secret"):
        return f"{path} is not valid ({error.validator}); the value is secret"  # never echo a secret
    return f"{path}: {error.message}"


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
