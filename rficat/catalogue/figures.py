"""What the pictures need from the catalogue and the files: each snippet's physical scale, and
each scan of a cadence around an event's track, read from the original files when they are
reachable (``rficat.plots`` draws; it never reads anything itself).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rficat.errors import RficatError
from rficat.io import FilterbankReader
from rficat.plots import CadencePanel, DriftTrack, Scan, SnippetAxes, cadence_window_hz
from rficat.science import snippets

log = logging.getLogger(__name__)

MAX_WINDOW_CHANNELS = 1 << 15  # a cadence window wider than this (a very fast track) is cut to it


def snippet_axes(engine: Engine, ids: Sequence[int]) -> list[SnippetAxes]:
    """The physical scale of each stored snippet (channel width, seconds per time bin, drift
    removed), in the order of ``ids``."""
    ids = [int(i) for i in ids]
    if not ids:
        return []
    n_bins = snippets.SNIPPET_SHAPE[0]
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT s.id, o.foff_mhz, o.tsamp_s, o.n_integrations, s.dedrift_hz_s FROM snippets s"
            " JOIN observations o ON o.id = s.observation_id WHERE s.id = ANY(:ids)"), {"ids": ids}).all()
    by_id = {r.id: SnippetAxes(r.foff_mhz * 1e6, max(r.tsamp_s * r.n_integrations / n_bins, r.tsamp_s),
                               r.dedrift_hz_s or 0.0) for r in rows}
    return [by_id[i] for i in ids]


def file_snippet_axes(path: str | Path, coarse_channel_width: int | None = None) -> SnippetAxes:
    """The physical scale of a snippet cut from a file (no drift removed)."""
    with FilterbankReader(path, coarse_channel_width) as reader:
        header = reader.header
    n_bins = snippets.SNIPPET_SHAPE[0]
    return SnippetAxes(header.foff_mhz * 1e6, max(header.obs_length_s / n_bins, header.tsamp_s))


def _members(conn, cadence: str) -> list:
    return conn.execute(sa.text(
        "SELECT m.position, m.role, o.id, o.path, o.source_name, o.mjd_start, o.tsamp_s, o.n_integrations"
        " FROM cadence_members m JOIN cadences c ON c.id = m.cadence_id"
        " JOIN observations o ON o.id = m.observation_id WHERE c.name = :name ORDER BY m.position"),
        {"name": cadence}).all()


def _letters(members: list) -> list[str]:
    """ABACAD-style letters: the ON target is A, each OFF source its own letter in order."""
    letters, names = [], {}
    for member in members:
        if member.role == "ON":
            letters.append("A")
            continue
        names.setdefault(member.source_name, chr(ord("B") + len(names)))
        letters.append(names[member.source_name])
    return letters


def _read_window(path: str, f0_mhz: float, window_hz: tuple[float, float],
                 coarse_channel_width: int | None) -> tuple[np.ndarray | None, float, float, str]:
    """(data, frequency of column 0, signed channel width, note) of a scan's window
    (``window_hz``: offsets from ``f0_mhz``)."""
    if not Path(path).is_file():
        return None, 0.0, 0.0, "file not reachable"
    try:
        with FilterbankReader(path, coarse_channel_width) as reader:
            header = reader.header
            middle = f0_mhz + (window_hz[0] + window_hz[1]) / 2 * 1e-6
            half = min((window_hz[1] - window_hz[0]) / 2, MAX_WINDOW_CHANNELS / 2 * header.channel_width_hz) * 1e-6
            ends = sorted(header.channel_of(f) for f in (middle - half, middle + half))
            lo, hi = max(int(np.floor(ends[0])), 0), min(int(np.ceil(ends[1])) + 1, header.n_channels)
            if hi - lo < 2:
                return None, 0.0, 0.0, "track outside this file's band"
            block = reader.read_channels(lo, hi)
            return block.data, float(header.frequency_mhz(lo)), header.foff_mhz * 1e6, ""
    except RficatError as exc:
        log.warning("%s", exc)
        return None, 0.0, 0.0, "file not readable"


def cadence_event_panel(engine: Engine, cadence: str, event: dict, title: str = "",
                        coarse_channel_width: int | None = None) -> CadencePanel:
    """Every scan of a cadence around an event's track (``event``: a row of ``cadence.search``:
    its snippet's frequency and drift, at its observation's mid-scan), for
    :func:`rficat.plots.cadence_figure`. Scans whose file is not reachable carry a note instead."""
    with engine.connect() as conn:
        members = _members(conn, cadence)
        anchor = conn.execute(sa.text(
            "SELECT o.mjd_start, o.tsamp_s * o.n_integrations AS length_s FROM snippets s"
            " JOIN observations o ON o.id = s.observation_id WHERE s.id = :id"),
            {"id": int(event["snippet_id"])}).one()
    if not members:
        raise RficatError(f"no cadence {cadence!r}")
    origin = min(m.mjd_start for m in members)
    clock = [((m.mjd_start - origin) * 86400.0, m.tsamp_s * m.n_integrations) for m in members]
    drift = event.get("drift_rate_hz_s") or 0.0
    track = DriftTrack(float(event["f_center_mhz"]), (anchor.mjd_start - origin) * 86400.0 + anchor.length_s / 2,
                       float(drift))
    window_hz = cadence_window_hz(track, [Scan("", m.role == "ON", s, d) for m, (s, d) in zip(members, clock)])
    scans = []
    for member, letter, (start_s, duration_s) in zip(members, _letters(members), clock):
        data, f_first, foff_hz, note = _read_window(member.path, track.f0_mhz, window_hz, coarse_channel_width)
        label = f"{letter} {member.role} {member.source_name or ''}".strip()
        scans.append(Scan(label, member.role == "ON", start_s, duration_s, data, f_first, foff_hz, note))
    return CadencePanel(title, scans, track)
