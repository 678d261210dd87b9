"""``build_wheel``: a connector package made on the spot, for installing without a network.

The wheel holds one module, ``source_tiny``, a connector in a dozen lines: its spec's title
carries the package version (so a new version shows in the spec), ``read`` emits ``count``
records of one stream, ``numbers``.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

MODULE = """
import json
import sys

VERSION = "@VERSION@"
STREAM = {
    "name": "numbers",
    "json_schema": {"type": "object", "properties": {"n": {"type": "integer"}}},
    "supported_sync_modes": ["full_refresh"],
}


def emit(message):
    print(json.dumps(message), flush=True)


def main():
    verb = sys.argv[1]
    if verb == "spec":
        properties = {"count": {"type": "integer", "minimum": 0}}
        specification = {"type": "object", "title": "Tiny " + VERSION, "required": ["count"], "properties": properties}
        emit({"type": "SPEC", "spec": {"documentationUrl": "https://example.com/tiny", "connectionSpecification": specification}})
    elif verb == "check":
        emit({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED"}})
    elif verb == "discover":
        emit({"type": "CATALOG", "catalog": {"streams": [STREAM]}})
    elif verb == "read":
        with open(sys.argv[sys.argv.index("--config") + 1]) as file:
            config = json.load(file)
        for n in range(config["count"]):
            emit({"type": "RECORD", "record": {"stream": "numbers", "data": {"n": n}, "emitted_at": 1700000000000}})
"""


def build_wheel(
    directory: Path, *, name: str = "airbyte-source-tiny", version: str = "0.1.0", scripts: dict[str, str] | None = None
) -> Path:
    """A pure-Python wheel of ``name`` whose console scripts (default: ``source-tiny``) run ``source_tiny:main``."""
    scripts = {"source-tiny": "source_tiny:main"} if scripts is None else scripts
    stem = f"{name.replace('-', '_')}-{version}"
    dist_info = f"{stem}.dist-info"
    files = {
        "source_tiny.py": MODULE.replace("@VERSION@", version),
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nProject-URL: Documentation, https://example.com/tiny\n"
        ),
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: airpipe-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist_info}/entry_points.txt": "[console_scripts]\n" + "".join(f"{s} = {target}\n" for s, target in scripts.items()),
    }
    record = [f"{path},sha256={_digest(text.encode())},{len(text.encode())}" for path, text in files.items()]
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
