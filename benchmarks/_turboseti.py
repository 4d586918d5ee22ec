"""turboSETI, the peer on the same files: FindDoppler on each scan, then find_event_pipeline.

Shared by the cadence benchmarks (``bench_cadence.py``, ``bench_verdicts.py``); needs the
``bench`` extra (``pip install -e .[bench]``).
"""

from __future__ import annotations

import contextlib
import glob
import inspect
import sys
from collections.abc import Sequence
from pathlib import Path


def patched_find_doppler():
    """turbo-seti 2.3.2 formats a numpy array with %i in a debug line, which numpy 2 refuses;
    the one-line fix is applied to its module source, nothing else changes."""
    import turbo_seti.find_doppler.find_doppler as module

    source = inspect.getsource(module).replace('" is: %i" % max_val.total_n_hits)',
                                               '" is: %i" % int(max_val.total_n_hits[0]))')
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102
    return module.FindDoppler


def find_events(paths: Sequence[str | Path], workdir: Path, *, levels: Sequence[int] = (2, 3), max_drift: float = 4,
                snr: float = 10, n_coarse_chan: int = 1,
                csv_dir: Path | None = None) -> tuple[dict[int, list[float]], int]:
    """Event frequencies (MHz, each event's hit in the first ON table) at each filter level, and the
    number of hits, for one ON/OFF cadence (files in cadence order, ON first). With ``csv_dir``,
    find_event_pipeline also writes its event CSV of each level there (``events_level<N>.csv``)."""
    from turbo_seti.find_event.find_event_pipeline import find_event_pipeline

    find_doppler = patched_find_doppler()
    workdir.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(sys.stderr):  # turboSETI prints its progress on stdout
        for path in paths:
            find_doppler(str(path), max_drift=max_drift, snr=snr, out_dir=str(workdir), log_level_int=40,
                         n_coarse_chan=n_coarse_chan).search(n_partitions=1)
    dats = sorted(glob.glob(str(workdir / "*.dat")), key=lambda d: [Path(p).stem for p in paths].index(Path(d).stem))
    n_hits = 0
    for dat in dats:
        n_hits += sum(1 for line in Path(dat).read_text().splitlines() if line.strip() and not line.startswith("#"))
    (workdir / "dats.lst").write_text("\n".join(dats) + "\n")
    (workdir / "h5s.lst").write_text("\n".join(str(p) for p in paths) + "\n")
    events = {}
    for level in levels:
        with contextlib.redirect_stdout(sys.stderr):
            df = find_event_pipeline(str(workdir / "dats.lst"), str(workdir / "h5s.lst"), filter_threshold=level,
                                     number_in_cadence=len(paths), saving=csv_dir is not None,
                                     csv_name=None if csv_dir is None else str(csv_dir / f"events_level{level}.csv"),
                                     user_validation=False)
        events[level] = [] if df is None or not len(df) else list(df.loc[df["status"] == "on_table_1", "Freq"])
    return events, n_hits
