"""An event's track through its cadence: every scan's data along the drift line, from the original files.

This is the one reader of those windows: the viewer's track pictures and JSON, and
``cadence search --plot`` (through :func:`cadence_panel`) all come from :func:`event_track`.

The catalogue keeps only the windows where something was detected, so the OFF scans hold
nothing along an ON-only signal's track; to show that nothing is there, the same band is
read again from each scan's file (when it is still reachable) over the frequencies the
event's drift rate predicts for the whole cadence. As ``rficat_cadence_events`` does, the
event's centre frequency is taken at the start of its (first ON) scan and times are counted
from there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rficat.catalogue.overview import cadence_members, reachable
from rficat.errors import RficatError
from rficat.io import FilterbankReader
from rficat.plots import CadencePanel, DriftTrack, Scan

MARGIN_CHANNELS = 128  # on each side of the track: half a snippet
MAX_CHANNELS = 1 << 15  # a very fast track's band is cut to this many channels around its middle


@dataclass
class ScanWindow:
    """One scan of the cadence along the track."""

    position: int
    role: str
    observation_id: int
    path: str
    source_name: str | None
    t_start_s: float  # since the start of the event's scan
    t_stop_s: float
    status: str  # "ok", "file not reachable", "outside the file's band", or "unreadable: ..."
    f_first_mhz: float | None = None  # frequency of column 0 of data
    foff_mhz: float | None = None  # frequency step from one column to the next
    data: np.ndarray | None = field(default=None, repr=False)  # (16, n) time bins x channels, as read

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "data"}


@dataclass
class Track:
    """The drift line f(t) = f0 + drift * (t - t_ref) (t in s since t0) and the scans along it."""

    cadence: str
    snippet_id: int
    f0_mhz: float
    drift_rate_hz_s: float
    t0_mjd: float
    t_ref_s: float  # when the line is at f0: the middle of the event's scan
    f_lo_mhz: float  # the band shown, shared by every scan
    f_hi_mhz: float
    scans: list[ScanWindow]

    def f_at(self, t_s: float) -> float:
        return self.f0_mhz + self.drift_rate_hz_s * (t_s - self.t_ref_s) * 1e-6

    def to_dict(self) -> dict:
        return {**{k: v for k, v in asdict(self).items() if k != "scans"}, "scans": [s.to_dict() for s in self.scans]}


def _read_window(scan: ScanWindow, f_lo_mhz: float, f_hi_mhz: float, coarse_channel_width: int | None) -> None:
    if not reachable(scan.path):
        scan.status = "file not reachable"
        return
    try:
        with FilterbankReader(scan.path, coarse_channel_width) as reader:
            header = reader.header
            a, b = sorted((header.channel_of(f_lo_mhz), header.channel_of(f_hi_mhz)))
            start, stop = max(int(np.floor(a)), 0), min(int(np.ceil(b)) + 1, header.n_channels)
            if stop - start < 2:
                scan.status = "outside the file's band"
                return
            scan.data = reader.read_channels(start, stop).data
            scan.f_first_mhz, scan.foff_mhz = float(header.frequency_mhz(start)), header.foff_mhz
    except (RficatError, OSError, ValueError) as exc:
        scan.status = f"unreadable: {exc}"
        return
    scan.status = "ok"


def event_track(engine: Engine, cadence: str, snippet_id: int, *, margin_channels: int = MARGIN_CHANNELS,
                max_channels: int = MAX_CHANNELS, read: bool = True) -> Track:
    """The scans of ``cadence`` along the drift line of snippet ``snippet_id`` (an event's first ON
    snippet); ``read=False`` leaves the data unread (statuses then say only which files are reachable)."""
    members = cadence_members(engine, cadence)
    with engine.connect() as conn:
        event = conn.execute(sa.text(
            "SELECT s.f_center_mhz, coalesce(s.drift_rate_hz_s, 0) AS drift, o.mjd_start, abs(o.foff_mhz) AS df,"
            " o.tsamp_s * o.n_integrations AS duration_s"
            " FROM snippets s JOIN observations o ON o.id = s.observation_id WHERE s.id = :i"),
            {"i": int(snippet_id)}).mappings().first()
        if event is None:
            raise RficatError(f"no snippet {snippet_id} in the catalogue")
        timing = {r.id: r for r in conn.execute(sa.text(
            "SELECT id, tsamp_s * n_integrations AS duration_s, (detection->>'coarse_channel_width')::int AS width"
            " FROM observations WHERE id = ANY(:ids)"), {"ids": [m["observation_id"] for m in members]})}
    t0 = event["mjd_start"] if event["mjd_start"] is not None else 0.0
    scans = []
    for m in members:
        start = ((m["mjd_start"] or t0) - t0) * 86400.0
        scans.append(ScanWindow(m["position"], m["role"], m["observation_id"], m["path"], m["source_name"],
                                start, start + timing[m["observation_id"]].duration_s,
                                "ok" if m["reachable"] else "file not reachable"))
    track = Track(cadence, int(snippet_id), event["f_center_mhz"], event["drift"], t0, event["duration_s"] / 2,
                  0.0, 0.0, scans)
    t_lo, t_hi = min(s.t_start_s for s in scans), max(s.t_stop_s for s in scans)
    f_line = sorted((track.f_at(t_lo), track.f_at(t_hi)))
    margin = margin_channels * event["df"]
    centre, half = (f_line[0] + f_line[1]) / 2, min((f_line[1] - f_line[0]) / 2 + margin, max_channels * event["df"] / 2)
    track.f_lo_mhz, track.f_hi_mhz = centre - half, centre + half
    if read:
        for scan in scans:
            _read_window(scan, track.f_lo_mhz, track.f_hi_mhz, timing[scan.observation_id].width)
    return track


def _letters(scans: list[ScanWindow]) -> list[str]:
    """ABACAD-style letters: the ON target is A, each OFF source its own letter in order."""
    letters, names = [], {}
    for scan in scans:
        if scan.role == "ON":
            letters.append("A")
        else:
            letters.append(names.setdefault(scan.source_name, chr(ord("B") + len(names))))
    return letters


def cadence_panel(track: Track, title: str = "") -> CadencePanel:
    """The track as :func:`rficat.plots.cadence_figure` draws it: the cadence's clock starts at its
    first scan, the band shown is the band read, unread scans carry their status."""
    origin = min(s.t_start_s for s in track.scans)
    scans = [Scan(f"{letter} {s.role} {(s.source_name or '')[:16]}".strip(), s.role == "ON", s.t_start_s - origin,
                  s.t_stop_s - s.t_start_s, s.data, s.f_first_mhz or 0.0, (s.foff_mhz or 0.0) * 1e6,
                  "" if s.data is not None else s.status)
             for s, letter in zip(track.scans, _letters(track.scans))]
    window = ((track.f_lo_mhz - track.f0_mhz) * 1e6, (track.f_hi_mhz - track.f0_mhz) * 1e6)
    return CadencePanel(title, scans, DriftTrack(track.f0_mhz, track.t_ref_s - origin, track.drift_rate_hz_s), window)
