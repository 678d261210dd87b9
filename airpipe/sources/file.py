"""File: one CSV or JSON-lines file, local or over http(s), as one stream.

    python -m airpipe.sources.file spec|check|discover|read ...

``url`` is either an http(s) URL, streamed from public addresses only unless
``AIRPIPE_ALLOW_PRIVATE_URLS=1`` (``file_http.py``), or a path inside the local root
(``$AIRPIPE_LOCAL_ROOT``; ``/local/x.csv`` and ``x.csv`` both mean ``<local root>/x.csv``, as for
the Local JSON destination), opened without following symbolic links (``local_paths.open_local``).
Format and gzip compression are told by the name (``.csv``, ``.tsv``, ``.jsonl``, ``.ndjson``,
then ``.gz``) unless set. Files are read as they stream in: memory does
not grow with their size.

Types are inferred from the first ``sample_rows`` rows. A CSV column is integer, number, boolean
(true/false, any case) or string, and nullable when an empty field was seen; empty fields are
null. A JSON-lines key gets the type of its values (integer and number mix into number, any other
mix is left untyped) and is nullable when it was null or missing in a row; keys first seen after
the sample are dropped. read converts values by the configured catalog's schema, so the records
always match the schema the destination was given.

Bad data fails the read, with its line number: a CSV row with the wrong number of fields, a line
that is not a JSON object, or a value that contradicts the schema (text in an integer column, an
empty field in a column that had none in the sample). The records before it were sent, but the
sync fails: data quality problems must be visible, not skipped. Raise ``sample_rows`` or fix the
file, then discover again.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import re
import time
import urllib.parse
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, cast

import msgspec

from airpipe.connectors.entrypoint import ConfigError, Source, main
from airpipe.connectors.local_paths import local_root, open_local, resolve_local_path
from airpipe.protocol import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteLogMessage,
    AirbyteMessage,
    AirbyteStream,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    ConnectorSpecification,
    Level,
    MessageType,
    Status,
    SyncMode,
    encode,
    encode_into,
)
from airpipe.sources import file_http
from airpipe.sources.file_types import check_width, csv_converter, infer_csv, infer_jsonl, jsonl_decoder

#: records per chunk of output lines
CHUNK = 2000
#: the longest CSV field, in characters (the csv module's default is 128 KiB)
FIELD_LIMIT = 64 << 20
HTTP_TIMEOUT = 60
FORMATS = {".csv": "csv", ".tsv": "csv", ".tab": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".jsonlines": "jsonl"}

SPEC = ConnectorSpecification(
    documentation_url="https://docs.airbyte.com/integrations/sources/file",
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "File Source Spec",
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {
                "title": "URL",
                "description": "An http(s) URL, or a path inside the local root (AIRPIPE_LOCAL_ROOT): /local/x.csv and "
                "x.csv both mean <local root>/x.csv.",
                "type": "string",
                "examples": ["/local/data/users.csv", "https://example.com/users.jsonl.gz"],
                "order": 0,
            },
            "format": {
                "title": "Format",
                "description": "Told by the file name's extension if not set.",
                "type": "string",
                "enum": ["csv", "jsonl"],
                "order": 1,
            },
            "compression": {
                "title": "Compression",
                "description": "gzip if the name ends in .gz, unless set.",
                "type": "string",
                "enum": ["none", "gzip"],
                "order": 2,
            },
            "dataset_name": {
                "title": "Dataset name",
                "description": "The stream's name; the file name without its extensions if not set.",
                "type": "string",
                "order": 3,
            },
            "delimiter": {
                "title": "CSV delimiter",
                "description": "One character; a tab for .tsv files, else a comma, if not set.",
                "type": "string",
                "minLength": 1,
                "maxLength": 1,
                "order": 4,
            },
            "header": {
                "title": "CSV header row",
                "description": "Whether the first row names the columns; without one they are column_1, column_2, ...",
                "type": "boolean",
                "default": True,
                "order": 5,
            },
            "sample_rows": {
                "title": "Rows sampled",
                "description": "How many rows the column types are inferred from.",
                "type": "integer",
                "minimum": 1,
                "default": 1000,
                "order": 6,
            },
        },
    },
)


# WHERE AND WHAT


class Location(msgspec.Struct, frozen=True):
    url: str  # what to open: an http(s) URL or an absolute local path
    name: str  # the file name, for inferring format, compression and dataset name
    remote: bool

    def describe(self) -> str:
        """The location for a message: a URL's query and credentials are left out."""
        return file_http.describe(self.url) if self.remote else self.url


def locate(config: dict[str, Any]) -> Location:
    url = config["url"].strip()
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return Location(url, urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1]), True)
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]+://", url):
        raise ConfigError(f"url: {scheme}:// is not supported; use an http(s) URL or a path inside the local root")
    try:
        path = resolve_local_path(url, local_root())
    except ValueError as exc:
        raise ConfigError(f"url: {exc}") from None
    return Location(str(path), path.name, False)


class Options(msgspec.Struct, frozen=True):
    format: str
    gzip: bool
    dataset_name: str
    delimiter: str
    header: bool
    sample_rows: int


def options(config: dict[str, Any], location: Location) -> Options:
    name = location.name
    compression = config.get("compression") or ("gzip" if name.lower().endswith(".gz") else "none")
    if name.lower().endswith(".gz"):
        name = name[:-3]
    stem, extension = os.path.splitext(name)
    file_format = config.get("format") or FORMATS.get(extension.lower())
    if file_format is None:
        raise ConfigError(f"url: cannot tell the format of {location.name!r} from its name; set format to csv or jsonl")
    if extension.lower() not in FORMATS:
        stem = name
    delimiter = config.get("delimiter") or ("\t" if extension.lower() in (".tsv", ".tab") else ",")
    dataset_name = config.get("dataset_name") or stem or "file"
    return Options(
        file_format, compression == "gzip", dataset_name, delimiter, bool(config.get("header", True)), int(config.get("sample_rows", 1000))
    )


@contextmanager
def open_file(location: Location, opts: Options) -> Iterator[IO[bytes]]:
    """The file's (decompressed) bytes, streamed; ConfigError if it cannot be opened."""
    if location.remote:
        raw = file_http.get(location.url, timeout=HTTP_TIMEOUT, headers={"User-Agent": "airpipe-source-file"})
    else:
        try:
            raw = open(open_local(location.url, os.O_RDONLY, local_root()), "rb")
        except ConfigError as exc:
            raise ConfigError(f"url: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"url: cannot open {location.describe()}: {exc.strerror or exc}") from None
    with raw:
        try:
            yield cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")) if opts.gzip else raw  # a GzipFile reads as a binary file does
        except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
            raise ConfigError(f"{location.describe()} is not a valid gzip file ({exc}); set compression to none") from None


# ROWS: (line number, value) pairs; the line number is where the row starts, counting from 1


def csv_rows(binary: IO[bytes], opts: Options) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The column names and the data rows of a CSV file."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(text, delimiter=opts.delimiter)

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = 1
        try:
            for row in reader:
                if row:  # a blank line
                    yield line, row
                line = reader.line_num + 1
        except csv.Error as exc:
            raise ConfigError(f"line {line}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"line {reader.line_num + 1} or near it: the file is not UTF-8 ({exc.reason})") from None

    data = rows()
    first = next(data, None)
    if first is None:
        return [], data
    if opts.header:
        return unique_names(first[1]), data
    names = [f"column_{i}" for i in range(1, len(first[1]) + 1)]

    def with_first() -> Iterator[tuple[int, list[str]]]:
        yield first
        yield from data

    return names, with_first()


def unique_names(header: list[str]) -> list[str]:
    """Header names, blanks named column_N and duplicates suffixed _2, _3, ..."""
    names: list[str] = []
    for i, raw in enumerate(header, 1):
        name, n = raw.strip() or f"column_{i}", 1
        while (name if n == 1 else f"{name}_{n}") in names:
            n += 1
        names.append(name if n == 1 else f"{name}_{n}")
    return names


def jsonl_lines(binary: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for line_number, line in enumerate(binary, 1):
        if line_number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8) :]
        if line.strip():
            yield line_number, line


def log(message: str, level: Level = Level.INFO) -> AirbyteMessage:
    return AirbyteMessage(type=MessageType.LOG, log=AirbyteLogMessage(level=level, message=message))


class File(Source):
    def spec(self) -> ConnectorSpecification:
        return SPEC

    def check(self, config: dict[str, Any]) -> AirbyteConnectionStatus:
        location = locate(config)
        self._infer(location, options(config, location))
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def discover(self, config: dict[str, Any]) -> AirbyteCatalog:
        location = locate(config)
        opts = options(config, location)
        return AirbyteCatalog(streams=[self._stream(opts, self._infer(location, opts))])

    def _stream(self, opts: Options, properties: dict[str, Any]) -> AirbyteStream:
        return AirbyteStream(
            name=opts.dataset_name,
            json_schema={"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": properties},
            supported_sync_modes=[SyncMode.full_refresh],
        )

    def _infer(self, location: Location, opts: Options) -> dict[str, dict[str, Any]]:
        with open_file(location, opts) as binary:
            if opts.format == "jsonl":
                return infer_jsonl(jsonl_lines(binary), opts.sample_rows)
            names, rows = csv_rows(binary, opts)
            return infer_csv(names, rows, opts.sample_rows)

    def read(
        self, config: dict[str, Any], catalog: ConfiguredAirbyteCatalog, state: list[Any]
    ) -> Iterator[AirbyteMessage | bytes | bytearray]:
        location = locate(config)
        opts = options(config, location)
        for configured in catalog.streams:
            if configured.stream.name != opts.dataset_name:
                raise ConfigError(
                    f"the catalog's stream {configured.stream.name!r} is not this file's ({opts.dataset_name!r}); discover the schema again"
                )
            schema = (configured.stream.json_schema or {}).get("properties") or self._infer(location, opts)
            yield log(f"{opts.dataset_name}: reading {location.describe()} as {opts.format}{' (gzip)' if opts.gzip else ''}")
            with open_file(location, opts) as binary:
                if opts.format == "jsonl":
                    yield from self._read_jsonl(configured, binary, schema)
                else:
                    yield from self._read_csv(configured, binary, opts, schema)

    def _read_csv(
        self, configured: ConfiguredAirbyteStream, binary: IO[bytes], opts: Options, schema: dict[str, Any]
    ) -> Iterator[bytearray]:
        names, rows = csv_rows(binary, opts)
        missing = [name for name in schema if name not in names]
        if missing:
            raise ConfigError(f"the file has no column {missing[0]!r} (its columns: {', '.join(names)}); discover the schema again")
        columns = [(name, names.index(name), csv_converter(name, prop)) for name, prop in schema.items()]

        def records() -> Iterator[dict[str, Any]]:
            for line, row in rows:
                check_width(line, row, names)
                yield {name: convert(line, row[index]) for name, index, convert in columns}

        return self._chunked(configured, records())

    def _read_jsonl(self, configured: ConfiguredAirbyteStream, binary: IO[bytes], schema: dict[str, Any]) -> Iterator[bytearray]:
        decode = jsonl_decoder(schema)

        def records() -> Iterator[Any]:
            for line, raw in jsonl_lines(binary):
                try:
                    yield decode(raw)
                except msgspec.ValidationError as exc:
                    raise ConfigError(f"line {line}: {exc}") from None
                except msgspec.DecodeError as exc:
                    raise ConfigError(f"line {line}: not valid JSON ({exc})") from None

        return self._chunked(configured, records())

    def _chunked(self, configured: ConfiguredAirbyteStream, records: Iterator[Any]) -> Iterator[bytearray]:
        """RECORD lines of ``records``, CHUNK at a time, encoded straight into the output buffer."""
        prefix, chunk, count = self._prefix(configured), bytearray(), 0
        suffix = _suffix()
        try:
            for record in records:
                chunk += prefix
                encode_into(record, chunk, len(chunk))
                chunk += suffix
                count += 1
                if count % CHUNK == 0:
                    yield chunk
                    chunk, suffix = bytearray(), _suffix()
        except ConfigError:
            if chunk:  # the records before a bad row are sent too
                yield chunk
            raise
        if chunk:
            yield chunk

    @staticmethod
    def _prefix(configured: ConfiguredAirbyteStream) -> bytes:
        return b'{"type":"RECORD","record":{"stream":' + encode(configured.stream.name) + b',"data":'


def _suffix() -> bytes:
    return b',"emitted_at":%d}}\n' % int(time.time() * 1000)


if __name__ == "__main__":
    main(File())
