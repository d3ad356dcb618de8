"""Throughput and memory of sweeps. Prints figures and ratios; asserts nothing.

    uv run python -m benchmarks.bench_sweep            # the issue's sizes: about 10 minutes
    uv run python -m benchmarks.bench_sweep --quick    # small sizes, to try it

Goals (issue 5), on a two-core machine: a 1,000-run sweep of the default scenario at 10,000
persons finishes in under 15 minutes with 2 workers; 2 workers give at least 1.8 x the
throughput of 1; peak memory at 1,000 runs is no more than at 100.

Each sweep runs as a user runs it (``multivector sweep`` in a subprocess). Memory is each
process's own peak resident size (VmHWM, read from /proc every 0.2 s): the coordinator's
(what streaming results to parts keeps flat) and the largest worker's (one run at a time),
and their sum for the whole sweep (coordinator + workers x largest worker). Throughput is
compared on whole 100-run sweeps, and once running: runs per second beyond the first 20,
which leaves out starting the processes (each imports Mesa, pandas and the compiled rules,
about 2 s here).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = shutil.which("multivector") or str(Path(sys.executable).parent / "multivector")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""As on a user's machine: Python may cache bytecode (this workplace sets
PYTHONDONTWRITEBYTECODE, which makes every worker compile its imports afresh)."""

SWEEP = """
name = "bench_{runs}"
scenario = "baseline"
population = 10000

[parameters]
"state.balance_strength" = {{ low = 0.5, high = 4.0 }}
"identity.promotion" = {{ low = 0.0, high = 0.5 }}

[design]
method = "lhs"
samples = {runs}
seed = 1

[[outcomes]]
name = "russia_alignment_2035"
measure = "alignment"
power = "Russia"
at = "2035-12"

[[outcomes]]
name = "vectors_mean"
measure = "effective_vectors"
period = ["2022-01", "2035-12"]
"""


def tree(pid: int) -> list[int]:
    """A process and all its descendants (from /proc/<pid>/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in (task / "children").read_text().split()]
    return out


def status(pid: int, key: str) -> int:
    """A /proc/<pid>/status field in bytes (0 once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def sweep(runs: int, workers: int, folder: Path) -> dict:
    spec = folder / f"bench_{runs}_{workers}.toml"
    spec.write_text(SWEEP.format(runs=runs))
    out = folder / f"out_{runs}_{workers}_{time.time_ns()}"
    start = time.perf_counter()
    process = subprocess.Popen(
        [EXE, "sweep", str(spec), "--out", str(out), "--workers", str(workers), "--quiet"],
        stdout=subprocess.DEVNULL,
        env=ENV,
    )
    peaks: dict[int, int] = {}
    while process.poll() is None:
        for pid in tree(process.pid):
            peaks[pid] = max(peaks.get(pid, 0), status(pid, "VmHWM"))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"sweep of {runs} runs failed with status {process.returncode}")
    coordinator = peaks.pop(process.pid, 0)
    worker = max(peaks.values(), default=0)
    return {
        "seconds": seconds,
        "coordinator": coordinator,
        "worker": worker,
        "total": coordinator + workers * worker,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (about two minutes)")
    args = parser.parse_args()
    big, small, short = (100, 20, 6) if args.quick else (1000, 100, 20)
    mib = 2**20
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        timed = {(n, w): sweep(n, w, folder) for w in (1, 2) for n in (short, small)}
        for w in (1, 2):
            print(f"{w} worker(s), 10,000 persons, 2015-2035: {short} runs "
                  f"{timed[short, w]['seconds']:.1f} s, {small} runs "
                  f"{timed[small, w]['seconds']:.1f} s")  # fmt: skip
        whole = timed[small, 1]["seconds"] / timed[small, 2]["seconds"]
        marginal = [
            (small - short) / (timed[small, w]["seconds"] - timed[short, w]["seconds"])
            for w in (1, 2)
        ]
        print(f"  throughput, 2 workers to 1, whole {small}-run sweeps: {whole:.2f}")
        print(f"  throughput, 2 workers to 1, once running ({marginal[0]:.2f} and "
              f"{marginal[1]:.2f} runs/s beyond the first {short}): "
              f"{marginal[1] / marginal[0]:.2f} (goal: at least 1.8)")  # fmt: skip
        few, many = timed[small, 2], sweep(big, 2, folder)
        print(f"{big} runs on 2 workers: {many['seconds'] / 60:.1f} min "
              f"({many['seconds'] / big:.2f} s a run; goal: under 15 min)")  # fmt: skip
        for label, m in ((f"{small} runs", few), (f"{big} runs", many)):
            print(f"  peak memory at {label}: coordinator {m['coordinator'] / mib:.0f} MiB, "
                  f"largest worker {m['worker'] / mib:.0f} MiB, whole sweep "
                  f"{m['total'] / mib:.0f} MiB")  # fmt: skip
        print(f"  ratio {big} to {small} runs: coordinator "
              f"{many['coordinator'] / few['coordinator']:.2f}, worker "
              f"{many['worker'] / few['worker']:.2f}, whole sweep "
              f"{many['total'] / few['total']:.2f} (goal: no more than 1)")  # fmt: skip


if __name__ == "__main__":
    main()
