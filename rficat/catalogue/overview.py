"""The catalogue at a glance: counts, observations, cadences, frequency occupancy, one snippet.

Plain reads of the documented tables and views (``observations``, ``cadences``,
``cadence_members``, ``snippets``, ``snippet_rfi``, ``rfi_class_summary``) with bound
parameters, returned as JSON-ready dicts; the web viewer's pages are built from these and
the search, cadence and RFI functions, never from SQL of their own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rficat.errors import RficatError
from rficat.science import snippets

MIN_BINS, MAX_BINS = 50, 2000  # 1 MHz bins across a wide band, at least 50 bins across a narrow one


def reachable(path: str | None) -> bool:
    """Whether an observation's original file can be read from here (it may have moved)."""
    return bool(path) and Path(path).is_file()


def counts(engine: Engine) -> dict:
    """Row counts a person asks for first (each from an index or a small table), and which model and
    RFI build are current."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT (SELECT count(*) FROM observations WHERE status = 'complete') AS observations,"
            " (SELECT count(*) FROM cadences) AS cadences,"
            " (SELECT count(*) FROM snippets) AS snippets,"
            " (SELECT count(*) FROM embeddings WHERE model_id = rficat_current_model()) AS vectors,"
            " (SELECT count(*) FROM snippet_rfi) AS known_rfi_snippets,"
            " (SELECT count(*) FROM rfi_class_summary) AS rfi_classes,"
            " (SELECT id FROM rfi_builds WHERE is_current) AS rfi_build_id,"
            " (SELECT name || ' v' || version FROM models WHERE is_current) AS current_model")).mappings().one()
    return dict(row)


def version(engine: Engine) -> tuple:
    """Changes whenever what ``census`` counts may have changed (new snippets, a new RFI build)."""
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT (SELECT count(*) FROM snippets), (SELECT max(id) FROM snippets),"
            " (SELECT max(id) FROM rfi_builds WHERE is_current), (SELECT max(id) FROM observations)")).one())


def observations(engine: Engine, limit: int = 500) -> list[dict]:
    """Observations, newest first, and whether each file is reachable."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT o.id AS observation_id, o.path, o.source_name, o.telescope, o.mjd_start, o.f_min_mhz, o.f_max_mhz,"
            " o.status FROM observations o ORDER BY o.id DESC LIMIT :n"), {"n": limit}).mappings().all()
    return [{**row, "reachable": reachable(row["path"])} for row in rows]


def cadences(engine: Engine) -> list[dict]:
    """Cadences with their pattern and number of scans."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT c.name, c.pattern, count(m.observation_id) AS n_scans FROM cadences c"
            " LEFT JOIN cadence_members m ON m.cadence_id = c.id GROUP BY c.id ORDER BY c.name")).mappings().all()
    return [dict(r) for r in rows]


def cadence_members(engine: Engine, name: str) -> list[dict]:
    """The scans of a cadence in order; RficatError when there is no such cadence."""
    with engine.connect() as conn:
        if conn.execute(sa.text("SELECT 1 FROM cadences WHERE name = :n"), {"n": name}).first() is None:
            raise RficatError(f"no cadence {name!r} in the catalogue")
        rows = conn.execute(sa.text(
            "SELECT m.position, m.role, o.id AS observation_id, o.path, o.source_name, o.mjd_start,"
            " o.f_min_mhz, o.f_max_mhz FROM cadences c JOIN cadence_members m ON m.cadence_id = c.id"
            " JOIN observations o ON o.id = m.observation_id WHERE c.name = :n ORDER BY m.position"),
            {"n": name}).mappings().all()
    return [{**row, "reachable": reachable(row["path"])} for row in rows]


def _bins(lo: float, hi: float) -> tuple[float, float, int]:
    """1 MHz bins (on whole MHz) when the band spans 50 MHz or more (whole MHz, at most 2000 bins,
    on wider bands), else 50 bins across it."""
    if hi - lo >= MIN_BINS:
        lo, span = float(np.floor(lo)), int(np.floor(hi) - np.floor(lo)) + 1
        width = -(-span // MAX_BINS)
        bins = -(-span // width)
        return lo, lo + bins * width, bins
    return lo, max(hi, lo + 1e-6), MIN_BINS


def census(engine: Engine) -> dict:
    """What needs every snippet row, in one pass over them: signal and noise snippets per observation,
    and the frequency occupancy (signal snippets per bin, and how many of them are known RFI)."""
    with engine.connect() as conn:
        lo, hi = conn.execute(sa.text(
            "SELECT min(f_center_mhz), max(f_center_mhz) FROM snippets WHERE is_signal")).one()
        lo, hi, bins = _bins(lo, hi) if lo is not None else (0.0, 1.0, MIN_BINS)
        rows = conn.execute(sa.text(
            "WITH s AS MATERIALIZED ("
            "  SELECT s.observation_id, s.is_signal, r.snippet_id IS NOT NULL AS rfi,"
            "   CASE WHEN s.is_signal THEN least(width_bucket(s.f_center_mhz, :lo, :hi, :bins), :bins) END AS bin"
            "  FROM snippets s LEFT JOIN snippet_rfi r ON r.snippet_id = s.id)"
            " SELECT 'observation' AS kind, observation_id AS key, count(*) FILTER (WHERE is_signal) AS a,"
            "  count(*) FILTER (WHERE NOT is_signal) AS b FROM s GROUP BY observation_id"
            " UNION ALL SELECT 'bin', bin, count(*), count(*) FILTER (WHERE rfi) FROM s WHERE is_signal GROUP BY bin"),
            {"lo": lo, "hi": hi, "bins": bins}).all()
    by_observation = {int(key): {"n_signal": a, "n_noise": b} for kind, key, a, b in rows if kind == "observation"}
    total, rfi = np.zeros(bins, np.int64), np.zeros(bins, np.int64)
    for kind, key, a, b in rows:
        if kind == "bin":
            total[key - 1], rfi[key - 1] = a, b
    occupancy = ({"edges_mhz": np.linspace(lo, hi, bins + 1).tolist(), "counts": total.tolist(),
                  "known_rfi": rfi.tolist(), "bin_mhz": (hi - lo) / bins} if total.any() else
                 {"edges_mhz": [], "counts": [], "known_rfi": [], "bin_mhz": None})
    return {"signal_snippets": int(sum(v["n_signal"] for v in by_observation.values())),
            "noise_snippets": int(sum(v["n_noise"] for v in by_observation.values())),
            "by_observation": by_observation, "occupancy": occupancy}


def snippet(engine: Engine, snippet_id: int) -> dict | None:
    """One snippet's metadata: its observation, cadence membership, RFI class and time/frequency steps."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT s.id AS snippet_id, s.observation_id, o.path, o.source_name, o.telescope, o.mjd_start,"
            " s.coarse_channel, s.chan_start, s.chan_stop, s.f_start_mhz, s.f_stop_mhz, s.f_center_mhz, s.snr,"
            " s.drift_rate_hz_s, s.width_hz, s.statistic, s.is_signal,"
            " coalesce((o.detection->>'time_bin_s')::float8, o.tsamp_s * o.n_integrations / 16) AS time_bin_s,"
            " abs(o.foff_mhz) * 1e6 AS channel_width_hz,"
            " (SELECT c.name FROM cadence_members m JOIN cadences c ON c.id = m.cadence_id"
            "  WHERE m.observation_id = o.id ORDER BY c.name LIMIT 1) AS cadence,"
            " (SELECT m.role FROM cadence_members m JOIN cadences c ON c.id = m.cadence_id"
            "  WHERE m.observation_id = o.id ORDER BY c.name LIMIT 1) AS role,"
            " r.class_id AS rfi_class_id, r.label AS rfi_label"
            " FROM snippets s JOIN observations o ON o.id = s.observation_id"
            " LEFT JOIN snippet_rfi r ON r.snippet_id = s.id WHERE s.id = :i"), {"i": int(snippet_id)}).mappings().first()
    return None if row is None else {**row, "reachable": reachable(row["path"])}


def snippet_array(engine: Engine, snippet_id: int) -> np.ndarray | None:
    """A stored snippet as a (16, 256) array in [0, 1], or None when there is no such snippet."""
    with engine.connect() as conn:
        data = conn.execute(sa.text("SELECT data FROM snippet_arrays WHERE snippet_id = :i"),
                            {"i": int(snippet_id)}).scalar()
    return None if data is None else snippets.from_bytes(data)


def observation(engine: Engine, observation_id: int) -> dict | None:
    """One observation's path, band and how it was cut (for reading windows from its file)."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT id AS observation_id, path, source_name, f_min_mhz, f_max_mhz,"
            " (detection->>'coarse_channel_width')::int AS coarse_channel_width FROM observations WHERE id = :i"),
            {"i": int(observation_id)}).mappings().first()
    return None if row is None else {**row, "reachable": reachable(row["path"])}
