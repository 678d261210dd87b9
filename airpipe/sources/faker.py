"""Faker: a source of made-up users, products and purchases, and airpipe's benchmark source.

    python -m airpipe.sources.faker spec|check|discover|read ...

Records are a pure function of ``(seed, stream, id)``: the same config prints byte-identical
record data, and raising ``count`` later only adds records. Every record's ``updated_at`` is
2024-01-01T00:00:00Z plus its id in seconds, so an incremental read resumes from its cursor by
arithmetic and picks up exactly the records added since.

Random bits come from one ``random.Random`` per block of BLOCK ids (seeded with seed, stream and
block number): sequential ``getrandbits`` is cheap, and a read can start at any id by seeding
that id's block and skipping at most BLOCK - 1 draws, without generating what came before.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import msgspec

from airpipe.connectors.entrypoint import ConfigError, Source, main
from airpipe.protocol import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteEstimateTraceMessage,
    AirbyteLogMessage,
    AirbyteMessage,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStream,
    AirbyteStreamState,
    AirbyteTraceMessage,
    ConfiguredAirbyteCatalog,
    ConnectorSpecification,
    EstimateType,
    Level,
    MessageType,
    Status,
    StreamDescriptor,
    SyncMode,
    TraceType,
    encode,
    encode_into,
)

BASE_TIME = datetime(2024, 1, 1, tzinfo=timezone.utc)
BLOCK = 1000
#: records per chunk of output lines, whatever state_every is: bounds memory, amortises the writes
CHUNK = 2000
CURSOR = "updated_at"

SPEC = ConnectorSpecification(
    documentation_url="https://docs.airbyte.com/integrations/sources/faker",
    supports_incremental=True,
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Faker Source Spec",
        "type": "object",
        "required": [],
        "properties": {
            "count": {
                "title": "Count",
                "description": "How many users and purchases to generate (and one product per ten users). "
                "Raise it later and an incremental sync picks up only the new records.",
                "type": "integer",
                "minimum": 0,
                "default": 1000,
                "order": 0,
            },
            "seed": {
                "title": "Seed",
                "description": "The same seed and count always give the same records.",
                "type": "integer",
                "default": 0,
                "order": 1,
            },
            "state_every": {
                "title": "State every",
                "description": "Emit a STATE checkpoint after this many records of a stream.",
                "type": "integer",
                "minimum": 1,
                "default": 1000,
                "order": 2,
            },
        },
    },
)


# RECORDS


class User(msgspec.Struct):
    id: int
    name: str
    email: str
    age: int
    city: str
    is_active: bool
    updated_at: str


class Product(msgspec.Struct):
    id: int
    name: str
    category: str
    price: float
    in_stock: bool
    updated_at: str


class Purchase(msgspec.Struct):
    id: int
    user_id: int
    product_id: int
    quantity: int
    updated_at: str


FIRST_NAMES = (
    "Ada", "Alan", "Alice", "Amara", "Anna", "Arjun", "Ben", "Bianca", "Carlos", "Chen", "Chloe",
    "Dara", "David", "Elena", "Emil", "Fatima", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan",
    "Jade", "James", "Jonas", "Julia", "Kai", "Kenji", "Lara", "Leo", "Lina", "Luca", "Maya", "Mia",
    "Milan", "Nadia", "Nina", "Noah", "Olga", "Omar", "Paula", "Pedro", "Priya", "Quinn", "Rafael",
    "Rosa", "Sam", "Sara", "Sofia", "Tariq", "Tess", "Theo", "Uma", "Vera", "Victor", "Wei",
    "Xavier", "Yara", "Yusuf", "Zara", "Zoe", "Ravi", "Erik", "Maren",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Ali", "Andersen", "Baker", "Bauer", "Costa", "Cruz", "Dubois", "Evans", "Fischer",
    "Garcia", "Gomez", "Hansen", "Hoffmann", "Ito", "Jensen", "Kim", "Kowalski", "Lee", "Lopez",
    "Martin", "Meyer", "Moreau", "Murphy", "Nakamura", "Nguyen", "Novak", "Okafor", "Olsen", "Park",
    "Patel", "Perez", "Petrov", "Quist", "Reyes", "Rossi", "Sato", "Schmidt", "Silva", "Singh",
    "Smith", "Suzuki", "Tanaka", "Taylor", "Torres", "Ueda", "Varga", "Vogel", "Walker", "Wang",
    "Weber", "Wilson", "Wong", "Yamada", "Young", "Zhang", "Ziegler", "Brown", "Clark", "Dietz",
    "Eriksen", "Falk", "Horvat", "Ivanova",
)  # fmt: skip
CITIES = (
    "Amsterdam", "Athens", "Austin", "Bangalore", "Berlin", "Bogota", "Boston", "Cairo",
    "Cape Town", "Chicago", "Dublin", "Helsinki", "Istanbul", "Jakarta", "Lagos", "Lima", "Lisbon",
    "London", "Madrid", "Melbourne", "Mexico City", "Montreal", "Mumbai", "Nairobi", "Osaka",
    "Paris", "Prague", "Seoul", "Singapore", "Stockholm", "Tokyo", "Vienna",
)  # fmt: skip
ADJECTIVES = (
    "Aged", "Bold", "Bright", "Classic", "Compact", "Cozy", "Crisp", "Deluxe", "Eco", "Electric",
    "Elegant", "Fresh", "Gentle", "Golden", "Handmade", "Heavy", "Light", "Mini", "Modern", "Natural",
    "Organic", "Portable", "Premium", "Quiet", "Rapid", "Rustic", "Sleek", "Smart", "Soft", "Sturdy",
    "Vintage", "Wild",
)  # fmt: skip
NOUNS = (
    "Backpack", "Blanket", "Bottle", "Bowl", "Candle", "Chair", "Clock", "Coffee", "Desk", "Drone",
    "Guitar", "Hat", "Headphones", "Jacket", "Kettle", "Keyboard", "Lamp", "Mug", "Notebook", "Pen",
    "Pillow", "Plant", "Radio", "Scarf", "Shoes", "Speaker", "Table", "Teapot", "Tent", "Umbrella",
    "Wallet", "Watch",
)  # fmt: skip
CATEGORIES = ("books", "clothing", "electronics", "garden", "home", "kitchen", "sports", "toys")
_FIRST_LOWER = tuple(name.lower() for name in FIRST_NAMES)
_LAST_LOWER = tuple(name.lower() for name in LAST_NAMES)


# Each maker turns (id, 64 random bits, updated_at) into a record; fields take disjoint bit ranges.


def _user(i: int, h: int, ts: str) -> User:
    first, last = h & 63, h >> 6 & 63
    email = f"{_FIRST_LOWER[first]}.{_LAST_LOWER[last]}{i}@example.com"
    return User(i, FIRST_NAMES[first] + " " + LAST_NAMES[last], email, 18 + (h >> 12) % 63, CITIES[h >> 18 & 31], h >> 23 & 7 != 0, ts)


def _product(i: int, h: int, ts: str) -> Product:
    name = ADJECTIVES[h & 31] + " " + NOUNS[h >> 5 & 31]
    return Product(i, name, CATEGORIES[h >> 10 & 7], ((h >> 13 & 0xFFFF) + 99) / 100, h >> 29 & 3 != 0, ts)


def _purchase(i: int, h: int, ts: str) -> Purchase:
    # Only users and products whose id is at most this purchase's exist for every count >= i.
    return Purchase(i, 1 + (h & 0xFFFFFFFF) % i, 1 + (h >> 32 & 0xFFFFFF) % ((i + 9) // 10), 1 + (h >> 56) % 5, ts)


def _schema(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": properties}


_INT, _STR, _NUM, _BOOL = {"type": "integer"}, {"type": "string"}, {"type": "number"}, {"type": "boolean"}
_TS = {"type": "string", "format": "date-time"}


class _Stream(msgspec.Struct, frozen=True):
    name: str
    json_schema: dict[str, Any]
    make: Callable[[int, int, str], msgspec.Struct]
    size: Callable[[int], int]  # count -> number of records


STREAMS = {
    s.name: s
    for s in (
        _Stream(
            "users",
            _schema(id=_INT, name=_STR, email=_STR, age=_INT, city=_STR, is_active=_BOOL, updated_at=_TS),
            _user,
            lambda count: count,
        ),
        _Stream(
            "products",
            _schema(id=_INT, name=_STR, category=_STR, price=_NUM, in_stock=_BOOL, updated_at=_TS),
            _product,
            lambda count: (count + 9) // 10,
        ),
        _Stream(
            "purchases",
            _schema(id=_INT, user_id=_INT, product_id=_INT, quantity=_INT, updated_at=_TS),
            _purchase,
            lambda count: count,
        ),
    )
}


# TIME


@lru_cache(maxsize=64)
def _day_prefix(day: int) -> str:
    return (BASE_TIME + timedelta(days=day)).strftime("%Y-%m-%dT")


@lru_cache(maxsize=1)
def _times_of_day() -> tuple[str, ...]:
    return tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(86400))


def timestamp(i: int) -> str:
    """The ``updated_at`` of record ``i``: BASE_TIME + i seconds, ISO 8601 in UTC."""
    day, second = divmod(i, 86400)
    return _day_prefix(day) + _times_of_day()[second]


def first_id_after(cursor: str) -> int:
    """The first id whose ``updated_at`` is later than ``cursor``."""
    try:
        moment = datetime.fromisoformat(cursor.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"the state's {CURSOR} {cursor!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(1, math.floor((moment - BASE_TIME).total_seconds()) + 1)


# READING


def _random_bits(seed: int, stream: str, start: int) -> Iterator[int]:
    """64 random bits for each id from ``start`` on."""
    block, skip = divmod(start, BLOCK)
    while True:
        draw = random.Random(f"{seed}/{stream}/{block}").getrandbits
        for _ in range(skip):
            draw(64)
        for _ in range(BLOCK - skip):
            yield draw(64)
        block, skip = block + 1, 0


def _stream_state(stream: str, cursor: str | None) -> AirbyteMessage:
    return AirbyteMessage(
        type=MessageType.STATE,
        state=AirbyteStateMessage(
            type=AirbyteStateType.STREAM,
            stream=AirbyteStreamState(
                stream_descriptor=StreamDescriptor(name=stream),
                stream_state={CURSOR: cursor} if cursor is not None else {},
            ),
        ),
    )


def _log(message: str, level: Level = Level.INFO) -> AirbyteMessage:
    return AirbyteMessage(type=MessageType.LOG, log=AirbyteLogMessage(level=level, message=message))


def _estimate(stream: str, rows: int) -> AirbyteMessage:
    """How many records are coming, so the job shows progress against a total."""
    estimate = AirbyteEstimateTraceMessage(name=stream, type=EstimateType.STREAM, row_estimate=rows)
    return AirbyteMessage(
        type=MessageType.TRACE, trace=AirbyteTraceMessage(type=TraceType.ESTIMATE, emitted_at=time.time() * 1000, estimate=estimate)
    )


def read_stream(stream: _Stream, seed: int, first: int, last: int, state_every: int) -> Iterator[AirbyteMessage | bytearray]:
    """Records ``first..last`` of a stream as chunks of pre-encoded lines, and a STATE after every
    ``state_every`` records and after the last."""
    make = stream.make
    prefix = b'{"type":"RECORD","record":{"stream":' + encode(stream.name) + b',"data":'
    times = _times_of_day()
    bits = _random_bits(seed, stream.name, first)
    low, checkpoint = first, first + state_every - 1
    while low <= last:
        high = min(last, checkpoint, low + CHUNK - 1)
        suffix = b',"emitted_at":%d}}\n' % int(time.time() * 1000)
        chunk = bytearray()
        for i, h in zip(range(low, high + 1), bits, strict=False):
            day, second = divmod(i, 86400)
            chunk += prefix
            encode_into(make(i, h, _day_prefix(day) + times[second]), chunk, len(chunk))
            chunk += suffix
        yield chunk
        if high in (checkpoint, last):
            yield _stream_state(stream.name, timestamp(high))
            checkpoint = high + state_every
        low = high + 1


def cursors_from_state(state: list[AirbyteStateMessage]) -> dict[str, str]:
    """Each stream's ``updated_at`` cursor from STREAM, GLOBAL or LEGACY state messages."""
    blobs: list[tuple[str, Any]] = []
    for message in state:
        if message.stream is not None:
            blobs.append((message.stream.stream_descriptor.name, message.stream.stream_state))
        elif message.global_ is not None:
            blobs += [(s.stream_descriptor.name, s.stream_state) for s in message.global_.stream_states]
        elif message.data is not None:
            blobs += list(message.data.items())
    cursors = {}
    for name, blob in blobs:
        if isinstance(blob, dict) and isinstance(blob.get(CURSOR), str):
            cursors[name] = blob[CURSOR]
    return cursors


class Faker(Source):
    def spec(self) -> ConnectorSpecification:
        return SPEC

    def check(self, config: dict[str, Any]) -> AirbyteConnectionStatus:
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def discover(self, config: dict[str, Any]) -> AirbyteCatalog:
        return AirbyteCatalog(
            streams=[
                AirbyteStream(
                    name=s.name,
                    json_schema=s.json_schema,
                    supported_sync_modes=[SyncMode.full_refresh, SyncMode.incremental],
                    source_defined_cursor=True,
                    default_cursor_field=[CURSOR],
                    source_defined_primary_key=[["id"]],
                )
                for s in STREAMS.values()
            ]
        )

    def read(
        self, config: dict[str, Any], catalog: ConfiguredAirbyteCatalog, state: list[AirbyteStateMessage]
    ) -> Iterator[AirbyteMessage | bytearray]:
        count = int(config.get("count", 1000))  # int(): JSON Schema's "integer" admits 5.0 too
        seed = int(config.get("seed", 0))
        state_every = int(config.get("state_every", 1000))
        cursors = cursors_from_state(state)
        for configured in catalog.streams:
            stream = STREAMS.get(configured.stream.name)
            if stream is None:
                yield _log(f"stream {configured.stream.name} is not a Faker stream; skipped", Level.WARN)
                continue
            cursor = cursors.get(stream.name) if configured.sync_mode is SyncMode.incremental else None
            first, last = (first_id_after(cursor) if cursor is not None else 1), stream.size(count)
            if first > last:
                yield _log(f"{stream.name}: no new records" + (f" after {cursor}" if cursor else ""))
                yield _stream_state(stream.name, cursor)
                continue
            yield _log(f"{stream.name}: reading records {first} to {last}")
            yield _estimate(stream.name, last - first + 1)
            yield from read_stream(stream, seed, first, last, state_every)


if __name__ == "__main__":
    main(Faker())
