"""The block router moves runs of record lines at once; whatever it does must equal the per-line
path: same bytes out, same order, same counts."""

from __future__ import annotations

import io
import random

import pytest

from airpipe.worker.record_runs import BlockRouter, StreamCount, head

USERS = b'{"type":"RECORD","record":{"stream":"users","data":{"id":1}}}'
USERS_IN_P = b'{"type":"RECORD","record":{"stream":"users","namespace":"p","data":{}}}'
LINES = [
    b"garbage",
    b'{"type":"STATE","state":{}}',
    b"",
    USERS,
    USERS_IN_P,
    b'{"type": "RECORD", "record": {}}',
    b'{"type":"RECORD","record":{"stream":"other","data":{}}}',
]


def route(router: BlockRouter, block: bytes) -> tuple[bytes, list[bytes]]:
    out = io.BytesIO()
    others = []
    for line in router.route(block, out.write):
        others.append(line)
        out.write(line)
    return out.getvalue(), others


@pytest.mark.parametrize("seed", range(20))
def test_routing_equals_the_line_by_line_result(seed: int) -> None:
    rng = random.Random(seed)
    # one router for all the blocks: what it learnt from one block must not spoil the next
    users, users_in_p = StreamCount(), StreamCount()
    router = BlockRouter({head("users"): (users, head("app_users")), head("users", "p"): (users_in_p, None)})
    for _ in range(300):
        pool = rng.choice([LINES, [USERS], [USERS, USERS_IN_P]])  # some blocks hold records only
        lines = [rng.choice(pool) for _ in range(rng.randint(0, 15))]
        block = b"".join(line + b"\n" for line in lines)
        before = users.records, users_in_p.records, users.bytes
        written, others = route(router, block)
        assert written == block.replace(b'"stream":"users","data"', b'"stream":"app_users","data"')
        assert users.records - before[0] == lines.count(USERS) and users_in_p.records - before[1] == lines.count(USERS_IN_P)
        assert users.bytes - before[2] == lines.count(USERS) * (len(USERS) + 1)
        assert len(others) == len(lines) - lines.count(USERS) - lines.count(USERS_IN_P)


def test_a_run_of_one_stream_is_written_in_one_call() -> None:
    users = StreamCount()
    router = BlockRouter({head("users"): (users, None)})
    block = (USERS + b"\n") * 1000 + b'{"type":"STATE","state":{}}\n' + (USERS + b"\n") * 500
    writes: list[bytes] = []
    others = list(router.route(block, writes.append))
    assert [len(w) for w in writes] == [1000 * (len(USERS) + 1), 500 * (len(USERS) + 1)]
    assert others == [b'{"type":"STATE","state":{}}\n']
    assert users.records == 1500
