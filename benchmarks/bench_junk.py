"""How fast `rficat ingest` refuses a junk file: a 23-byte `.h5`, the whole command as a user runs it.

Each run is a fresh `rficat ingest junk.h5` process (interpreter start, argument parsing, the
header check) with an empty RFICAT_HOME: the file must be refused before the embedded database,
Prefect's temporary server or TensorFlow start. Reported: the median and the worst of the runs,
the error lines printed (goal: one), and for scale a bare interpreter start and building the
CLI's full argument parser (as `rficat --help` does: it imports scipy, pandas and setigen for the
defaults it shows; a command builds only its own options) in a new process.

    python benchmarks/bench_junk.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RFICAT = os.path.join(os.path.dirname(sys.executable), "rficat")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        junk = Path(tmp) / "junk.h5"
        junk.write_bytes(os.urandom(23))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RFICAT_", "PREFECT_"))}
        env.update(HOME=tmp, RFICAT_HOME=str(Path(tmp) / "rficat"))
        seconds, error_lines = [], set()
        for _ in range(args.runs):
            started = time.perf_counter()
            result = subprocess.run([RFICAT, "ingest", str(junk)], env=env, capture_output=True, text=True,
                                    timeout=300)
            seconds.append(time.perf_counter() - started)
            assert result.returncode == 1, result.stderr
            error_lines.add(len(result.stderr.strip().splitlines()))
        interpreter, parser = [], []
        for _ in range(args.runs):
            for code, times in (("pass", interpreter), ("from rficat.cli import build_parser; build_parser()", parser)):
                started = time.perf_counter()
                subprocess.run([sys.executable, "-c", code], check=True)
                times.append(time.perf_counter() - started)
    print(json.dumps({"runs": args.runs, "median_s": round(statistics.median(seconds), 2),
                      "max_s": round(max(seconds), 2), "python_start_s": round(statistics.median(interpreter), 2),
                      "full_argument_parser_s": round(statistics.median(parser), 2),
                      "load_average_1min": round(os.getloadavg()[0], 1),
                      "error_lines_per_run": sorted(error_lines),
                      "database_started": (Path(tmp) / "rficat" / "pgdata").exists()}, indent=2))


if __name__ == "__main__":
    main()
