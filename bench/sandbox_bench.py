"""What the connector sandbox costs at start-up: the same connector command with and without bubblewrap.

    python bench/sandbox_bench.py [--repeat 20]

Times, through the real Launcher (run directory, in-memory inputs, process group), a ``check`` of
the built-in Faker (a Python connector importing airpipe) and a ``spec`` of a shell-sized program
(``/bin/sh``, what a wrapper costs), each ``--repeat`` times with AIRPIPE_SANDBOX=off and then with
bubblewrap, and prints the median and the 90th percentile in milliseconds and the difference.
Records flow through pipes either way: a sync's throughput is not affected, only its start.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from airpipe.connectors import registry
from airpipe.connectors.launcher import Launcher
from airpipe.connectors.sandbox import Sandbox, probe

SH_SPEC = 'echo \'{"type": "SPEC", "spec": {"connectionSpecification": {}}}\''


def timings(run: Callable[[], object], repeat: int) -> list[float]:
    run()  # warm the page cache
    spent = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def summary(spent: list[float]) -> tuple[float, float]:
    ordered = sorted(spent)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    problem = probe()
    if problem is not None:
        print(f"sandbox bench skipped: {problem}")
        return 0
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        cases = {
            "faker check (python)": (registry.resolve("airpipe/source-faker"), lambda launcher: launcher.check({"count": 1})),
            "sh spec (wrapper)": (["/bin/sh", "-c", SH_SPEC, "sh"], lambda launcher: launcher.spec()),
        }
        print(f"connector start-up, {args.repeat} runs each (ms)       median     p90")
        for name, (command, verb) in cases.items():
            medians = {}
            for mode in ("off", "bwrap"):
                sandbox = Sandbox(mode, data_dir / "local", data_dir)
                launcher = Launcher(command, run_root=data_dir / "run", sandbox=sandbox.for_builtin(), timeout=60)
                median, p90 = summary(timings(lambda: verb(launcher), args.repeat))  # noqa: B023 - used at once
                medians[mode] = median
                print(f"  {name:<24} {'bubblewrap' if mode == 'bwrap' else 'no sandbox':<12} {median:8.1f} {p90:8.1f}")
            print(f"  {name:<24} {'sandbox cost':<12} {medians['bwrap'] - medians['off']:+8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
