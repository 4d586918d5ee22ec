"""Vetting other pipelines' hits (``rficat vet``): turboSETI / hyperseti / plain tables in, verdicts out.

For each row of a hit table (:mod:`rficat.io.hits`), vetting

1. finds the hit's data file: the path the table names (as given or beside the table), a file of
   ``files`` with that name or stem (turboSETI calls every data file ``<name>.h5``), or a catalogue
   observation of that file name (within ``cadence`` when given); a file found on disk is matched to
   its catalogue observation by fingerprint;
2. moves the table's frequency to the track's centre with the data file's own timing
   (turboSETI and hyperseti report the track's start);
3. takes the catalogue's own snippet of the signal when the file is ingested and a stored signal
   snippet lies within :data:`LOOKUP_CHANNELS` of the centre (a *lookup*: no file is read); else
   cuts the 16 x 256 window at the centre exactly as ingest does (``clean_block`` of the coarse
   channel, window, normalise, quantise) -- dedrifted when the track crosses more than
   :data:`FAST_SPAN` channels over the scan (:func:`dedrift_window`, a shift-and-stack of vetting's
   own; ingest's fast-drift cutting lives in ``science.detect``) -- and encodes it with the
   catalogue's current model;
4. groups duplicate hits of one signal: hits of one file whose centres lie on each other's track
   with consistent drift rates (:func:`group_duplicates`);
5. asks the verdict entry point through one call site (:func:`judge`) with the SNR measured as
   detection measures it, so the rule's own floor (``verdicts.Rules.snr_floor``) leaves hits fainter
   than the encoder was trained on ``unjudged``, in vetting as everywhere. With a cadence, a hit
   whose snippet is an ON appearance of one of its events takes that event's verdict
   (:func:`judge_as_events`: what ``rficat cadence search`` says of the signal), and a hit whose
   snippet is a signal of an ON scan that no event holds fails the cadence test: the rule's
   ``candidate`` becomes ``likely_rfi`` (:func:`fail_the_cadence_test`). The drift judged is the one measured
   with the picture: a lookup's snippet's own drift rate and its error (the catalogue's verdict on
   that snippet, by the same rule); for a cut, the table's drift (put back on its grid,
   :func:`on_the_grid`), known to one step of a dedoppler search of the file (one channel over the
   scan between the first and last integration, as turboSETI quantises its drift rates), which is
   the drift's error, combined as ingest combines a
   track's with how much the cut picture's path wanders (``measures.wander``: a chirp's or a random
   walk's drift in the table is one straight path through a curve, not the next scan's).

A problem with one row (no data file, a frequency outside the file's band, an unreadable file) is
that row's ``error``; the other rows are still vetted. Nothing is written to the catalogue unless
:func:`store` is called.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from scipy import stats
from sqlalchemy.engine import Engine

from rficat.catalogue import cadence as cadences
from rficat.catalogue import files, models, rfimask, verdicts
from rficat.errors import RficatError
from rficat.io import (
    FileStat,
    FilterbankReader,
    HitRow,
    fingerprint,
    read_header,
    read_hits,
)
from rficat.science import detect, embedding, measures, snippets
from rficat.science.model import Encoder, resolve_model

log = logging.getLogger(__name__)

LOOKUP_CHANNELS = 32
"""A stored signal snippet whose centre is this close to a hit's centre (fine channels) is the
catalogue's own picture of that signal (ingest centres snippets on the signal's power)."""

FAST_SPAN = detect.WINDOW * 7 // 8
"""Channels a track may cross over the scan and still be cut as observed; faster ones are cut
dedrifted (the same bound ingest's fast-drift search uses)."""

DUPLICATE_MARGIN_CHANNELS = 4
@dataclass
class DataFile:
    """What vetting knows of one data file: on disk, in the catalogue, or both."""

    name: str
    path: Path | None = None
    observation_id: int | None = None
    n_integrations: int | None = None
    tsamp_s: float | None = None
    foff_mhz: float | None = None
    f_min_mhz: float | None = None
    f_max_mhz: float | None = None
    mjd_start: float | None = None
    source_name: str | None = None
    role: str | None = None  # ON / OFF in the given cadence
    error: str | None = None

    @property
    def obs_length_s(self) -> float | None:
        return None if self.n_integrations is None or self.tsamp_s is None else self.n_integrations * self.tsamp_s

    @property
    def key(self) -> str:
        return str(self.path) if self.path is not None else f"observation {self.observation_id}"


@dataclass
class Vetted:
    """One vetted row: the hit, where its picture came from, its vectors and its verdict."""

    hit: HitRow
    data: DataFile | None = None
    f_center_mhz: float | None = None
    snippet: np.ndarray | None = None  # (16, 256) normalised, as stored
    snippet_id: int | None = None  # the catalogue's own snippet of the signal (a lookup)
    snippet_source: str | None = None  # catalogue | file
    snr_measured: float | None = None
    statistic: float | None = None
    width_hz: float | None = None
    dedrift_hz_s: float = 0.0
    coarse_channel: int | None = None
    chan_start: int | None = None  # file channel of the cut window's first column (at the mean bin time)
    window_mhz: tuple[float, float] | None = None  # frequencies of its first and last column
    latent: np.ndarray | None = None
    freq_vector: np.ndarray | None = None
    group: int | None = None
    duplicate_of: int | None = None  # row number of the group's best hit
    group_rows: list[int] = field(default_factory=list)
    rfi_mask: list[str] = field(default_factory=list)
    verdict: str | None = None
    explanation: str | None = None
    evidence: list = field(default_factory=list)
    error: str | None = None
    stored_snippet_id: int | None = None
    measured_drift_hz_s: float | None = None  # a lookup's snippet's own drift rate and its error
    measured_drift_error_hz_s: float | None = None

    def fail(self, message: str) -> None:
        if self.error is None:
            self.error = message

    @property
    def event(self) -> str:
        """The event this row belongs to: find_event_pipeline's Hit_ID, else its signal group."""
        if self.hit.event:
            return self.hit.event
        primary = self.duplicate_of or self.hit.row
        return f"{self.hit.table.stem}_row{primary}"

    def record(self) -> dict:
        """The row as printed and written: the input's own columns, then vetting's."""
        duplicates = None
        if len(self.group_rows) > 1:
            best = self.duplicate_of or self.hit.row
            duplicates = (f"one of {len(self.group_rows)} hits of one signal in {self.hit.table.name} (rows "
                          f"{', '.join(map(str, self.group_rows))}: their centres lie on one drift-consistent "
                          f"track); row {best} has the best SNR")
        return {
            **self.hit.columns,
            "table": str(self.hit.table), "row": self.hit.row, "format": self.hit.format,
            "detector": self.hit.detector,
            "data_file": str(self.data.path) if self.data and self.data.path else (
                self.data.name if self.data else self.hit.data_file),
            "observation_id": self.data.observation_id if self.data else None,
            "role": self.data.role if self.data else None,
            "f_center_mhz": self.f_center_mhz,
            "f_start_mhz": self.hit.f_mhz if self.hit.frequency_at == "start" else None,
            "drift_rate_hz_s": self.hit.drift_rate_hz_s,
            "snr": self.hit.snr,
            "snr_measured": _round(self.snr_measured, 2),
            "snippet_source": self.snippet_source,
            "snippet_id": self.snippet_id,
            "dedrift_hz_s": self.dedrift_hz_s,
            "event": self.hit.event,
            "signal_group": self.group,
            "duplicate_of_row": self.duplicate_of,
            "duplicates": duplicates,
            "rfi_mask": self.rfi_mask,
            "verdict": self.verdict,
            "explanation": self.explanation,
            "evidence": self.evidence,
            "error": self.error,
            "stored_snippet_id": self.stored_snippet_id,
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


# --- reading tables ------------------------------------------------------------------------------

def read_tables(paths: Sequence[str | os.PathLike]) -> tuple[list[Vetted], list[str]]:
    """Every row of every table, and one problem line per table that could not be read."""
    vetted, problems = [], []
    for path in paths:
        try:
            _, rows = read_hits(path)
        except RficatError as exc:
            problems.append(str(exc))
            continue
        if not rows:
            log.warning("%s: no hits", path)
        vetted += [Vetted(row) for row in rows]
    return vetted, problems


# --- data files ----------------------------------------------------------------------------------

_OBSERVATION_COLUMNS = ("id, path, n_integrations, tsamp_s, foff_mhz, f_min_mhz, f_max_mhz, mjd_start, "
                        "source_name")


def _from_observation(row, role: str | None = None) -> DataFile:
    path = Path(row.path)
    return DataFile(path.name, path if path.is_file() else None, row.id, row.n_integrations, row.tsamp_s,
                    row.foff_mhz, row.f_min_mhz, row.f_max_mhz, row.mjd_start, row.source_name, role)


def cadence_files(engine: Engine, cadence: str) -> list[DataFile]:
    """The scans of a catalogue cadence, in order, with their roles."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            f"SELECT {', '.join('o.' + c.strip() for c in _OBSERVATION_COLUMNS.split(','))}, cm.role"
            " FROM cadences c JOIN cadence_members cm ON cm.cadence_id = c.id"
            " JOIN observations o ON o.id = cm.observation_id WHERE c.name = :c ORDER BY cm.position"),
            {"c": cadence}).all()
    if not rows:
        raise RficatError(f"no cadence {cadence!r} in the catalogue (rficat cadence add)")
    return [_from_observation(r, r.role) for r in rows]


def _stem(name: str) -> str:
    return Path(name).stem


class _Finder:
    """Resolves the data file a table row names (see the module docstring, step 1)."""

    def __init__(self, engine: Engine, files: Sequence[Path], cadence: list[DataFile] | None,
                 coarse_channel_width: int | None, cadence_name: str | None = None):
        self.engine = engine
        self.cadence_name = cadence_name
        self.files = [Path(f) for f in files]
        self.cadence = cadence
        self.width = coarse_channel_width
        self._by_path: dict[Path, DataFile] = {}
        self._catalogue: dict[str, list] | None = None

    def _catalogue_by_stem(self, stems: set[str]) -> dict[str, list]:
        if self._catalogue is None:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.text(
                    f"SELECT {_OBSERVATION_COLUMNS} FROM observations WHERE status = 'complete'"
                    " AND regexp_replace(path, '^.*/|[.][^./]*$', '', 'g') = ANY(:stems)"), {"stems": sorted(stems)}).all()
            self._catalogue = defaultdict(list)
            for row in rows:
                self._catalogue[_stem(row.path)].append(row)
        return self._catalogue

    def on_disk(self, path: Path) -> DataFile:
        """A file on disk, with its header and (by fingerprint) its catalogue observation."""
        path = path.resolve()
        if path in self._by_path:
            return self._by_path[path]
        data = DataFile(path.name, path)
        try:
            header = read_header(path, self.width)
            data.n_integrations, data.tsamp_s, data.foff_mhz = header.n_integrations, header.tsamp_s, header.foff_mhz
            data.f_min_mhz, data.f_max_mhz = header.f_min_mhz, header.f_max_mhz
            data.mjd_start, data.source_name = header.mjd_start, header.source_name
            with self.engine.connect() as conn:
                data.observation_id = conn.execute(sa.text(
                    "SELECT id FROM observations WHERE fingerprint = :fp AND status = 'complete'"),
                    {"fp": fingerprint(path)}).scalar()
        except (RficatError, OSError) as exc:
            data.error = str(exc) if isinstance(exc, RficatError) else f"{path}: {exc}"
        if self.cadence is not None and data.observation_id is not None:
            data.role = next((c.role for c in self.cadence if c.observation_id == data.observation_id), None)
        elif data.observation_id is not None:
            data.role = self.role(data.observation_id)
        self._by_path[path] = data
        return data

    def role(self, observation_id: int) -> str | None:
        """An observation's role in the catalogue's cadences: ON if it is an ON scan of any."""
        with self.engine.connect() as conn:
            roles = set(conn.execute(sa.text("SELECT role FROM cadence_members WHERE observation_id = :o"),
                                     {"o": observation_id}).scalars())
        return "ON" if "ON" in roles else "OFF" if roles else None

    def find(self, hit: HitRow) -> DataFile:
        name = hit.data_file
        if name is None:
            return self._unnamed(hit)
        given = Path(name)
        for candidate in ([given] if given.is_absolute() else [given, hit.table.parent / given]):
            if candidate.is_file():
                return self.on_disk(candidate)
        for wanted in (lambda f: f.name == given.name, lambda f: f.stem == given.stem):
            match = [f for f in self.files if wanted(f)]
            if match:
                return self.on_disk(match[0])
        if self.cadence is not None:
            members = [c for c in self.cadence if _stem(c.name) == given.stem]
            if members:
                return self.on_disk(members[0].path) if members[0].path else members[0]
        for suffix in (".h5", ".fil"):
            beside = hit.table.parent / (given.stem + suffix)
            if beside.is_file():
                return self.on_disk(beside)
        rows = self._catalogue_by_stem({given.stem}).get(given.stem, []) if self.cadence is None else []
        if rows:
            on_disk = [r for r in rows if Path(r.path).is_file()]
            if on_disk:
                return self.on_disk(Path(on_disk[0].path))
            return _from_observation(rows[0], self.role(rows[0].id))
        where = "beside the table, in --files" + (f", in cadence {self.cadence_name}" if self.cadence else
                                                  " or in the catalogue")
        return DataFile(name, error=f"{hit.label}: data file {name} not found ({where}); give it with --files")

    def _unnamed(self, hit: HitRow) -> DataFile:
        """Tables that name no data file (hyperseti: one table per file)."""
        if len(self.files) == 1:
            return self.on_disk(self.files[0])
        stem = hit.table.stem
        match = [f for f in self.files if stem.startswith(f.stem) or f.stem.startswith(stem)]
        if len(match) == 1:
            return self.on_disk(match[0])
        return DataFile("?", error=f"{hit.label}: the table names no data file ({hit.format} writes one table per "
                                   "file); give that file with --files")

    def prefetch(self, hits: Sequence[HitRow]) -> None:
        stems = {_stem(h.data_file) for h in hits if h.data_file}
        if stems and self.cadence is None:
            self._catalogue_by_stem(stems)


# --- the cut -------------------------------------------------------------------------------------

def dedrift_window(x: np.ndarray, centre: float, slope_channels_s: float, bin_times_s: np.ndarray) -> np.ndarray:
    """The (16, 256) window of a cleaned block with each time bin shifted back along a drift
    (``slope_channels_s``: file channels per second), so that a track through column ``centre`` at the
    mean bin time stands still. Columns beyond the block are 0 (the cleaned block's noise mean).

    Vetting's own shift-and-stack (ingest cuts fast drifters in ``science.detect``)."""
    t, n = x.shape
    times = np.asarray(bin_times_s, dtype=np.float64)
    shifts = np.rint(slope_channels_s * (times - times.mean())).astype(np.int64)
    columns = int(round(centre)) - detect.WINDOW // 2 + shifts[:, None] + np.arange(detect.WINDOW)[None, :]
    inside = (columns >= 0) & (columns < n)
    window = x[np.arange(t)[:, None], np.clip(columns, 0, n - 1)]
    return np.where(inside, window, 0.0).astype(np.float32)


def _span_channels(drift_hz_s: float | None, data: DataFile, bin_times_s: np.ndarray) -> float:
    """Channels the track crosses between the first and the last time bin."""
    if not drift_hz_s or not data.foff_mhz:
        return 0.0
    return abs(drift_hz_s) * float(bin_times_s[-1] - bin_times_s[0]) / (abs(data.foff_mhz) * 1e6)


def cut_file(path: Path, items: Sequence[Vetted], coarse_channel_width: int | None = None,
             progress: Callable[[int], None] | None = None) -> None:
    """Cut each item's snippet from one file, one coarse channel at a time (each read and cleaned once).

    As ingest: the coarse channel cleaned (DC spike, bandpass divided), the 256-channel window
    centred on the hit, ``data / bandpass`` normalised and quantised; dedrifted when the track
    crosses more than FAST_SPAN channels. Also measures the SNR as detection does (the dedrifted,
    time-collapsed peak over the coarse channel's collapsed noise), K^2 and the half-power width.
    """
    try:
        with FilterbankReader(path, coarse_channel_width) as reader:
            header = reader.header
            width = header.coarse_channel_width
            by_coarse: dict[int, list[tuple[Vetted, float]]] = defaultdict(list)
            for item in items:
                channel = float(header.channel_of(item.f_center_mhz))
                coarse = int(channel // width)
                if not 0 <= coarse < header.n_coarse_channels:
                    item.fail(f"{item.hit.label} ({path.name}): {item.f_center_mhz:.6f} MHz lies in no whole coarse "
                              f"channel of the file")
                    continue
                by_coarse[coarse].append((item, channel))
            for coarse, members in sorted(by_coarse.items()):
                try:
                    block = reader.read_channels(coarse * width, (coarse + 1) * width, coarse)
                except RficatError as exc:
                    for item, _ in members:
                        item.fail(f"{item.hit.label}: {exc}")
                    continue
                _cut_block(block, members, header, coarse)
                if progress is not None:
                    progress(len(members))
    except RficatError as exc:
        for item in items:
            item.fail(f"{item.hit.label}: {exc}")


def _cut_block(block, members: list[tuple[Vetted, float]], header, coarse: int) -> None:
    x = detect.clean_block(block.data)
    n = x.shape[1]
    times = block.bin_times_s
    collapsed = np.where(np.isfinite(x), x, 0.0).mean(axis=0)
    noise_std = detect.collapsed_noise_std(collapsed)
    channel_hz = abs(header.foff_mhz) * 1e6
    for item, channel in members:
        local = channel - coarse * header.coarse_channel_width
        drift = item.hit.drift_rate_hz_s or 0.0
        slope = drift / (header.foff_mhz * 1e6)  # file channels per second (foff is signed)
        # the window whose centre (start + 127.5) is nearest the hit: a stored snippet's own f_center_mhz
        # gives back exactly that snippet's window
        nearest = int(np.floor(local + 0.5))
        if _span_channels(drift, item.data, times) > FAST_SPAN:
            window = dedrift_window(x, nearest, slope, times)
            item.dedrift_hz_s, residual = drift, 0.0
            start = nearest - detect.WINDOW // 2
        else:
            start = min(max(nearest - detect.WINDOW // 2, 0), n - detect.WINDOW)
            window = np.ascontiguousarray(x[:, start:start + detect.WINDOW])
            residual = slope
        window = np.where(np.isfinite(window), window, 0.0).astype(np.float32)
        profile = detect.dedrifted_profiles(window[None], np.array([residual]), times)[0]
        item.snr_measured = float(profile.max() / noise_std)
        item.width_hz = float(detect.half_power_width(profile[None])[0] * channel_hz)
        item.statistic = float(stats.normaltest(window.ravel()).statistic)
        # as detect_block hands snippets over: data / bandpass (the cleaned block is that minus one)
        item.snippet = snippets.dequantise(snippets.quantise(snippets.normalise(window + 1.0)))
        item.coarse_channel, item.chan_start = coarse, coarse * header.coarse_channel_width + start
        item.window_mhz = tuple(float(header.frequency_mhz(item.chan_start + c)) for c in (0, detect.WINDOW - 1))
        item.snippet_source = "file"


# --- catalogue lookups ---------------------------------------------------------------------------

LOOKUP_SQL = """
SELECT h.i, s.id, s.snr, a.data, s.width_hz, s.statistic, s.drift_rate_hz_s, s.drift_error_hz_s, e.latent,
       e.freq_vector
FROM unnest(CAST(:obs AS bigint[]), CAST(:f AS float8[]), CAST(:tol AS float8[]), CAST(:i AS int[]))
     AS h(observation_id, f, tol, i)
CROSS JOIN LATERAL (
    SELECT s.id, s.snr, s.width_hz, s.statistic, s.drift_rate_hz_s, s.drift_error_hz_s, s.f_center_mhz
    FROM snippets s
    WHERE s.observation_id = h.observation_id AND s.is_signal
      AND s.f_center_mhz BETWEEN h.f - h.tol AND h.f + h.tol
      AND EXISTS (SELECT 1 FROM embeddings e WHERE e.snippet_id = s.id AND e.model_id = :m)
    ORDER BY abs(s.f_center_mhz - h.f) LIMIT 1) s
JOIN embeddings e ON e.snippet_id = s.id AND e.model_id = :m
JOIN snippet_arrays a ON a.snippet_id = s.id
"""


def lookup(engine: Engine, items: Sequence[Vetted], model_id: int) -> int:
    """Give items in ingested files the catalogue's own snippet and vectors of their signal; returns how many."""
    todo = [(i, v) for i, v in enumerate(items) if v.data and v.data.observation_id is not None
            and v.f_center_mhz is not None and v.error is None]
    if not todo:
        return 0
    params = {"obs": [v.data.observation_id for _, v in todo], "f": [v.f_center_mhz for _, v in todo],
              "tol": [LOOKUP_CHANNELS * abs(v.data.foff_mhz or 0) for _, v in todo],
              "i": [i for i, _ in todo], "m": model_id}
    with engine.connect() as conn:
        rows = conn.execute(sa.text(LOOKUP_SQL), params).all()
    for row in rows:
        item = items[row.i]
        item.snippet_id, item.snippet_source = int(row.id), "catalogue"
        item.snippet = snippets.from_bytes(row.data)
        item.snr_measured, item.width_hz, item.statistic = row.snr, row.width_hz, row.statistic
        item.measured_drift_hz_s, item.measured_drift_error_hz_s = row.drift_rate_hz_s, row.drift_error_hz_s
        item.latent = np.asarray(row.latent.to_numpy(), dtype=np.float32)
        item.freq_vector = np.asarray(row.freq_vector.to_numpy(), dtype=np.float32)
    return len(rows)


# --- duplicates ----------------------------------------------------------------------------------

def same_signal(a: Vetted, b: Vetted) -> bool:
    """Two hits of one file are one signal when either's centre lies on the other's track over the
    scan (half its drift span plus a few channels) and their drift rates agree (within two channels
    over the scan, or half the larger rate)."""
    data = a.data
    if data is None or data.foff_mhz is None or data.obs_length_s is None:
        return False
    channel_mhz = abs(data.foff_mhz)
    da, db = a.hit.drift_rate_hz_s or 0.0, b.hit.drift_rate_hz_s or 0.0
    half_span_mhz = max(abs(da), abs(db)) * data.obs_length_s / 2 * 1e-6
    if abs(a.f_center_mhz - b.f_center_mhz) > half_span_mhz + DUPLICATE_MARGIN_CHANNELS * channel_mhz:
        return False
    return abs(da - db) <= max(2 * channel_mhz * 1e6 / data.obs_length_s, 0.5 * max(abs(da), abs(db)))


def group_duplicates(items: Sequence[Vetted]) -> None:
    """Number the signals (``group``) and point each duplicate at its group's best-SNR hit."""
    by_file: dict[tuple, list[Vetted]] = defaultdict(list)
    for item in items:
        if item.error is None and item.f_center_mhz is not None and item.data is not None:
            by_file[(item.hit.table, item.data.key)].append(item)
    group = 0
    for members in by_file.values():
        members.sort(key=lambda v: v.f_center_mhz)
        parent = list(range(len(members)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                if same_signal(members[i], members[j]):
                    parent[root(j)] = root(i)
        clusters: dict[int, list[Vetted]] = defaultdict(list)
        for i, item in enumerate(members):
            clusters[root(i)].append(item)
        for cluster in clusters.values():
            group += 1
            best = max(cluster, key=lambda v: (v.hit.snr if v.hit.snr is not None else -math.inf,
                                               v.snr_measured or -math.inf))
            rows = sorted(v.hit.row for v in cluster)
            for item in cluster:
                item.group, item.group_rows = group, rows
                item.duplicate_of = None if item is best else best.hit.row


# --- verdicts ------------------------------------------------------------------------------------

@dataclass
class VerdictQuery:
    """What the verdict entry point is given for the hits it judges (arrays of one length m).

    ``latent`` / ``freq_vector`` are the catalogue's current model's vectors of each hit's snippet;
    ``drift_rate_hz_s`` / ``drift_error_hz_s`` the drift judged and its error (see the module
    docstring; NaN when unknown); ``tolerance_floor_hz_s``
    is one channel over the hit's scan (the data's drift resolution); ``observation_id`` and
    ``snippet_id`` are -1 when the hit's file is not in the catalogue / its snippet was cut from the
    file; ``role`` is ON / OFF when the hit's scan is in the given cadence, else None.
    """

    model_id: int | None
    latent: np.ndarray
    freq_vector: np.ndarray
    drift_rate_hz_s: np.ndarray
    drift_error_hz_s: np.ndarray
    f_center_mhz: np.ndarray
    snr: np.ndarray
    tolerance_floor_hz_s: np.ndarray
    observation_id: np.ndarray
    snippet_id: np.ndarray
    role: list[str | None]

    def __len__(self) -> int:
        return len(self.latent)


def on_the_grid(rate_hz_s: float, step_hz_s: float) -> float:
    """A table's drift rate put back on its dedoppler grid: turboSETI searches whole steps (one
    channel between the first and last integration) and prints six decimals, so two steps read
    0.020409 where twice the step is 0.0204082 -- enough to call a hit that drifts exactly its
    tolerance "drifting". A rate within a thousandth of a step of the grid is taken as on it;
    others (another detector's grid) are left as they are."""
    if not (math.isfinite(rate_hz_s) and math.isfinite(step_hz_s) and step_hz_s > 0):
        return rate_hz_s
    steps = round(rate_hz_s / step_hz_s)
    return steps * step_hz_s if abs(rate_hz_s / step_hz_s - steps) <= 1e-3 else rate_hz_s


def verdict_query(items: Sequence[Vetted], model_id: int | None) -> VerdictQuery:
    def floor(v: Vetted) -> float:
        d = v.data
        return abs(d.foff_mhz) * 1e6 / d.obs_length_s if d and d.foff_mhz and d.obs_length_s else math.nan

    def drift(v: Vetted) -> tuple[float, float]:
        if v.measured_drift_hz_s is not None and math.isfinite(v.measured_drift_hz_s):
            error = v.measured_drift_error_hz_s
            return v.measured_drift_hz_s, math.nan if error is None else error
        d = v.data
        step = (abs(d.foff_mhz) * 1e6 / (d.tsamp_s * (d.n_integrations - 1))
                if d and d.foff_mhz and d.tsamp_s and d.n_integrations and d.n_integrations > 1 else math.nan)
        rate = on_the_grid(math.nan if v.hit.drift_rate_hz_s is None else v.hit.drift_rate_hz_s, step)
        if v.snippet is not None and math.isfinite(step):  # widened where the cut picture's path wanders
            step = float(measures.drift_error_hz_s(v.snippet, abs(d.foff_mhz) * 1e6,
                                                   d.obs_length_s / snippets.SNIPPET_SHAPE[0], known=np.array([step]))[0])
        return rate, step

    nan = math.nan
    drifts = np.array([drift(v) for v in items], dtype=np.float64).reshape(-1, 2)
    return VerdictQuery(
        model_id=model_id,
        latent=np.stack([v.latent for v in items]) if items else np.empty((0, 0), np.float32),
        freq_vector=np.stack([v.freq_vector for v in items]) if items else np.empty((0, 0), np.float32),
        drift_rate_hz_s=drifts[:, 0], drift_error_hz_s=drifts[:, 1],
        f_center_mhz=np.array([v.f_center_mhz for v in items], dtype=np.float64),
        snr=np.array([nan if v.snr_measured is None else v.snr_measured for v in items]),
        tolerance_floor_hz_s=np.array([floor(v) for v in items]),
        observation_id=np.array([-1 if v.data.observation_id is None else v.data.observation_id for v in items],
                                dtype=np.int64),
        snippet_id=np.array([-1 if v.snippet_id is None else v.snippet_id for v in items], dtype=np.int64),
        role=[v.data.role for v in items])


def judge(engine: Engine, query: VerdictQuery) -> list[dict]:
    """The verdict of each queried hit: ``{"verdict", "explanation", "evidence"}``, in query order,
    from the catalogue's one verdict rule (``rficat.catalogue.verdicts``, SQL ``rficat_classify``):
    vetting grows no rule of its own. A hit's own observation is passed so its own catalogue
    snippets never count as evidence against it."""
    if not len(query):
        return []
    observation = np.where(query.observation_id >= 0, query.observation_id, -1)
    results = verdicts.judge_vectors(engine, query.latent, query.drift_rate_hz_s,
                                     tolerance_floor_hz_s=query.tolerance_floor_hz_s,
                                     drift_error_hz_s=query.drift_error_hz_s, snr=query.snr,
                                     observation_id=observation, f_center_mhz=query.f_center_mhz)
    return [{"verdict": v.verdict, "explanation": v.explanation, "evidence": v.evidence} for v in results]


def judge_as_events(engine: Engine, items: Sequence[Vetted], cadence: str) -> tuple[set[int], set[int]]:
    """A hit that is the catalogue's own snippet of an ON appearance of one of the cadence's events
    takes that event's verdict (``rficat cadence search``, which also knows the OFF scans: e.g. a
    signal on top of RFI the OFF scans show drifting otherwise stays a candidate), so vetting and
    cadence search say the same of one signal. Where a snippet appears in several events, a
    candidate's verdict wins (events come ranked candidates first). Returns the ``id()`` of each
    hit judged so, which the verdict rule then leaves alone, and of each hit whose catalogue snippet
    no event holds (:func:`fail_the_cadence_test`), only where rficat's detection has run on every
    scan of the cadence: a scan holding only hits kept by ``rficat vet --store`` (``detection`` NULL) was
    not searched, so an event missing there says nothing."""
    with engine.connect() as conn:
        searched = conn.execute(sa.text(
            "SELECT bool_and(o.detection IS NOT NULL) FROM cadences c JOIN cadence_members cm ON cm.cadence_id = c.id"
            " JOIN observations o ON o.id = cm.observation_id WHERE c.name = :c"), {"c": cadence}).scalar()
    event_of: dict[int, dict] = {}
    for event in cadences.search(engine, cadence).to_dict("records"):
        for sid in event["on_snippet_ids"] or ():
            event_of.setdefault(int(sid), event)
    judged, no_event = set(), set()
    for item in items:
        if item.error is not None or item.snippet_id is None or item.snippet_source != "catalogue":
            continue
        event = event_of.get(item.snippet_id)
        if event is not None:
            item.verdict, item.evidence = event["verdict"], list(event["evidence"] or [])
            item.explanation = (f"as cadence {cadence}'s event of snippet {event['snippet_id']} (rficat cadence "
                                f"search): {event['explanation']}")
            judged.add(id(item))
        elif searched:
            no_event.add(id(item))
    return judged, no_event


def fail_the_cadence_test(items: Sequence[Vetted], no_event: set[int], cadence: str) -> int:
    """A hit whose snippet is a signal of an ON scan of the cadence that none of its events holds
    fails the cadence test as ``rficat cadence search`` applies it: that search starts from every
    signal of the ON scans an event may start in and follows it through every scan, so no event
    means the signal is not on its drift track in enough ON scans (a faint one may be missing from
    one of three, a bright one from none) or an OFF scan shows it too. The cadence search does not
    list it as a candidate, so neither does vetting: the verdict rule's ``candidate`` becomes
    ``likely_rfi`` (the rule's own words and evidence kept); its RFI verdicts and ``unjudged`` stand.
    This is what turboSETI's filter level 3 does to hits missing from an ON scan, with rficat's
    more sensitive detection and its tolerance of a faint signal missed once. Where the table's own
    event (find_event_pipeline's ``Hit_ID``) holds the hit in two or more ON scans, the two pipelines
    disagree on whether the signal is there (rficat's detection may have missed a faint one), and a
    signal in doubt stays a candidate. Returns how many."""
    on_scans: dict[str, set[str]] = defaultdict(set)  # the ON scans each of the table's events is in
    for item in items:
        if item.hit.event and item.data is not None and item.data.role == "ON":
            on_scans[item.hit.event].add(item.data.key)
    failed = 0
    for item in items:
        if (id(item) in no_event and item.verdict == "candidate" and item.data is not None
                and item.data.role == "ON" and len(on_scans.get(item.hit.event, ())) < 2):
            item.verdict = "likely_rfi"
            item.explanation = (f"likely_rfi: it fails cadence {cadence}'s ON/OFF test: rficat cadence search, "
                                "which follows each signal of the ON scans through every scan of the cadence, makes "
                                "no event of this one (it is not on its drift track in enough of the ON scans, or an "
                                "OFF scan shows it too), so it is no candidate of the cadence; the verdict rule "
                                f"alone: {item.explanation}")
            failed += 1
    return failed


# --- the whole run -------------------------------------------------------------------------------

@dataclass
class VetRun:
    items: list[Vetted]
    problems: list[str]  # one line per table that could not be read
    model_id: int | None
    encoder: Encoder
    files: list[DataFile]  # every data file seen (for sheets)
    cadence: list[DataFile] | None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[Vetted]:
        return [v for v in self.items if v.error]


def _encoder(engine: Engine, models_dir: Path | None) -> tuple[int | None, Encoder, embedding.FrequencyEmbedding]:
    if models.current_model_id(engine) is None:  # an empty catalogue: no vectors, nothing to judge against
        log.warning("the catalogue has no model yet: hits are encoded with the shipped default (nothing to compare)")
        return None, resolve_model(None), embedding.DEFAULT
    model_id, encoder = models.encoder_for(engine, models_dir)
    return model_id, encoder, models.frequency_embedding(engine, model_id)


def vet(engine: Engine, tables: Sequence[str | os.PathLike], *, files: Sequence[str | os.PathLike] = (),
        cadence: str | None = None, models_dir: Path | None = None, coarse_channel_width: int | None = None,
        progress: Callable[[int], None] | None = None) -> VetRun:
    """Vet every row of the tables (see the module docstring); reads the catalogue, writes nothing."""
    import time

    seconds = dict.fromkeys(("read", "lookup", "cut", "encode", "judge"), 0.0)
    t = time.perf_counter()
    items, problems = read_tables(tables)
    members = cadence_files(engine, cadence) if cadence else None
    finder = _Finder(engine, [Path(f) for f in files], members, coarse_channel_width, cadence)
    finder.prefetch([v.hit for v in items])
    for item in items:
        item.data = finder.find(item.hit)
        if item.data.error:
            item.fail(item.data.error if item.data.error.startswith(item.hit.label)
                      else f"{item.hit.label}: {item.data.error}")
            continue
        centre = item.hit.centre_mhz(item.data.n_integrations, item.data.tsamp_s)
        if centre is None:
            item.fail(f"{item.hit.label}: the scan length is unknown, so the track's centre is too")
            continue
        item.f_center_mhz = centre
        lo, hi = item.data.f_min_mhz, item.data.f_max_mhz
        if lo is not None and not lo <= centre <= hi:
            item.fail(f"{item.hit.label} ({item.data.name}): {centre:.6f} MHz is outside the file's band "
                      f"{lo:.6f}-{hi:.6f} MHz")
    seconds["read"] = time.perf_counter() - t

    model_id, encoder, freq_embedding = _encoder(engine, models_dir)
    t = time.perf_counter()
    if model_id is not None:
        lookup(engine, items, model_id)
    seconds["lookup"] = time.perf_counter() - t

    t = time.perf_counter()
    to_cut: dict[Path, list[Vetted]] = defaultdict(list)
    for item in items:
        if item.error is None and item.snippet is None:
            if item.data.path is None:
                item.fail(f"{item.hit.label}: observation {item.data.observation_id} ({item.data.name}) has no "
                          f"stored snippet within {LOOKUP_CHANNELS} channels of {item.f_center_mhz:.6f} MHz and its "
                          "file is not here to cut one from; give it with --files")
                continue
            to_cut[item.data.path].append(item)
    for path, batch in to_cut.items():
        cut_file(path, batch, coarse_channel_width, progress)
    seconds["cut"] = time.perf_counter() - t

    t = time.perf_counter()
    fresh = [v for v in items if v.error is None and v.snippet is not None and v.latent is None]
    if fresh:
        latent = encoder.encode(np.stack([v.snippet for v in fresh]))
        freq_vectors = freq_embedding.apply(latent, [v.f_center_mhz for v in fresh])
        for v, z, fz in zip(fresh, latent, freq_vectors):
            v.latent, v.freq_vector = z, fz
    seconds["encode"] = time.perf_counter() - t

    group_duplicates(items)
    bands = rfimask.labelled_bands(engine)
    for item in items:
        if item.f_center_mhz is not None:
            item.rfi_mask = [label for a, b, label in bands if a <= item.f_center_mhz <= b]

    t = time.perf_counter()
    by_event, no_event = (judge_as_events(engine, items, cadence) if cadence and model_id is not None
                          else (set(), set()))
    judged = []  # the SNR floor is the verdict rule's (Rules.snr_floor), measured as detection does
    for item in items:
        if item.error is not None:
            item.explanation = item.error
        elif id(item) in by_event:
            continue
        elif item.snr_measured is None or not math.isfinite(item.snr_measured):
            item.verdict = "unjudged"
            item.explanation = "no SNR could be measured for this hit: its picture cannot be compared"
        else:
            judged.append(item)
    if judged:
        for item, result in zip(judged, judge(engine, verdict_query(judged, model_id))):
            item.verdict, item.explanation, item.evidence = (result["verdict"], result["explanation"],
                                                             list(result.get("evidence") or []))
    fail_the_cadence_test(items, no_event, cadence)
    seconds["judge"] = time.perf_counter() - t
    known = {v.data.key: v.data for v in items if v.data is not None and v.data.error is None}
    for path in files:
        data = finder.on_disk(Path(path))
        if data.error is None:
            known.setdefault(data.key, data)
    return VetRun(items, problems, model_id, encoder, list(known.values()), members,
                  {k: round(s, 3) for k, s in seconds.items()})


# --- keeping vetted hits -------------------------------------------------------------------------

def store(engine: Engine, run: VetRun, coarse_channel_width: int | None = None) -> int:
    """Keep the vetted hits cut from files as snippets of their observation (``snippets.detector``:
    turboseti, hyperseti or table), with the current model's vectors; returns how many.

    A file not yet in the catalogue gets its observation row with ``detection`` NULL, so a later
    ``rficat ingest`` of it still detects and stores its own snippets. Hits whose signal the catalogue
    already holds (a lookup) are not stored again. The whole run is one transaction.
    """
    from rficat.catalogue import ingest
    from rficat.store import db

    if run.model_id is None:
        raise RficatError("the catalogue has no model yet, so vetted hits would have no searchable vectors; "
                          "ingest an observation first (rficat ingest or rficat demo)")
    keep = [v for v in run.items if v.error is None and v.snippet_source == "file" and v.data.path is not None]
    if not keep:
        return 0
    with db.raw_connection(engine) as conn, conn.cursor() as cur:
        observations: dict[Path, int] = {}
        for path in sorted({v.data.path for v in keep}):
            identity = files.identify(cur, path)  # locks the file's fingerprint, as ingest does
            if identity.observation_id is None:
                header = read_header(path, coarse_channel_width)
                values = ingest._header_row(header, FileStat.of(path), identity.fingerprint, None)
                identity.observation_id = cur.execute(
                    f"INSERT INTO observations ({', '.join(values)}, status, ingested_at)"
                    f" VALUES ({', '.join(['%s'] * len(values))}, 'complete', now()) RETURNING id",
                    list(values.values())).fetchone()[0]
            observations[path] = identity.observation_id
        for item in keep:
            chan_start = item.chan_start
            f_start, f_stop = item.window_mhz
            item.stored_snippet_id = cur.execute(
                "INSERT INTO snippets (observation_id, coarse_channel, chan_start, chan_stop, f_start_mhz, f_stop_mhz,"
                " f_center_mhz, statistic, snr, drift_rate_hz_s, width_hz, is_signal, detector)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, true, %s) RETURNING id",
                (observations[item.data.path], item.coarse_channel, chan_start, chan_start + detect.WINDOW, f_start,
                 f_stop, (f_start + f_stop) / 2, item.statistic, item.snr_measured,
                 item.hit.drift_rate_hz_s, item.width_hz, item.hit.detector)).fetchone()[0]
            cur.execute("INSERT INTO snippet_arrays (snippet_id, data) VALUES (%s, %s)",
                        (item.stored_snippet_id, snippets.to_bytes(item.snippet)))
        ingest._copy_embeddings(cur, [v.stored_snippet_id for v in keep], run.model_id,
                                np.stack([v.latent for v in keep]), np.stack([v.freq_vector for v in keep]))
        conn.commit()
    db.index_pending(engine)
    return len(keep)


# --- vetting sheets ------------------------------------------------------------------------------

SHEET_MAX_HALF_CHANNELS = 2048  # a sheet shows at most 4096 channels around the track
SHEET_MIN_HALF_CHANNELS = 128  # and at least 128 channels either side of it


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "event"


def _sheet_scans(item: Vetted, run: VetRun) -> list[tuple[DataFile, str | None]]:
    """The scans shown around a hit, by time, with their roles: the cadence's, else every file seen
    that covers its frequency (roles inferred as ``rficat cadence add`` does)."""
    from rficat.catalogue.cadence import infer_roles

    pool = run.cadence if run.cadence is not None else run.files
    scans = [d for d in pool if d.path is not None and d.f_min_mhz is not None and d.obs_length_s
             and d.f_min_mhz <= item.f_center_mhz <= d.f_max_mhz]
    if item.data.path is not None and all(d.path != item.data.path for d in scans):
        scans.append(item.data)
    scans.sort(key=lambda d: d.mjd_start or 0.0)
    roles = [d.role for d in scans] if run.cadence is not None else infer_roles([d.source_name for d in scans])
    return list(zip(scans, roles))


def _sheet_band(item: Vetted, scans: list[tuple[DataFile, str | None]], t_ref_mjd: float) -> tuple[float, float]:
    """One frequency range for every scan of a sheet: the hit's track over all of them, plus a margin."""
    drift = item.hit.drift_rate_hz_s or 0.0
    channel_mhz = abs(item.data.foff_mhz)
    hit_mid_s = ((item.data.mjd_start or 0.0) - t_ref_mjd) * 86400 + item.data.obs_length_s / 2
    ends = [0.0, item.data.obs_length_s] + [((d.mjd_start or 0.0) - t_ref_mjd) * 86400 + t
                                            for d, _ in scans for t in (0.0, d.obs_length_s)]
    track = [item.f_center_mhz + drift * (t - hit_mid_s) * 1e-6 for t in (min(ends), max(ends))]
    half = (max(track) - min(track)) / 2 + SHEET_MIN_HALF_CHANNELS * channel_mhz
    half = min(half, SHEET_MAX_HALF_CHANNELS * channel_mhz)
    centre = (max(track) + min(track)) / 2
    return centre - half, centre + half


def _scan_image(data: DataFile, role: str | None, band: tuple[float, float], t_ref_mjd: float,
                coarse_channel_width: int | None) -> dict | None:
    """One scan's channels within ``band`` (MHz), in 16 time bins, ascending frequency."""
    with FilterbankReader(data.path, coarse_channel_width) as reader:
        header = reader.header
        ends = sorted(int(round(header.channel_of(f))) for f in band)
        lo, hi = max(ends[0], 0), min(ends[1] + 1, header.n_channels)
        if hi - lo < 8:
            return None
        image = reader.read_channels(lo, hi).data
    image = image / (np.nanmedian(image) or 1.0)
    f_lo, f_hi = float(header.frequency_mhz(lo)), float(header.frequency_mhz(hi - 1))
    if f_lo > f_hi:
        image, (f_lo, f_hi) = image[:, ::-1], (f_hi, f_lo)
    start_s = ((data.mjd_start or 0.0) - t_ref_mjd) * 86400
    return {"label": f"{role or '?'} {data.source_name or ''} ({data.name})", "t_start_s": start_s,
            "t_stop_s": start_s + data.obs_length_s, "f_min_mhz": f_lo, "f_max_mhz": f_hi, "image": image}


def sheet_text(item: Vetted) -> str:
    lines = [f"verdict: {item.verdict}", f"{item.explanation}"]
    if item.evidence:
        lines.append(f"evidence: {len(item.evidence)} lookalikes: " + ", ".join(
            str(e.get("snippet_id", e)) if isinstance(e, dict) else str(e) for e in item.evidence[:8]))
    if item.rfi_mask:
        lines.append("in the site's RFI mask: " + ", ".join(item.rfi_mask))
    if len(item.group_rows) > 1:
        lines.append(f"one signal with rows {', '.join(map(str, item.group_rows))} of {item.hit.table.name}")
    lines.append(f"{item.hit.table.name} row {item.hit.row}: {item.f_center_mhz:.6f} MHz (track centre), drift "
                 f"{(item.hit.drift_rate_hz_s or 0):+.4f} Hz/s, SNR {item.hit.snr if item.hit.snr is not None else '?'}"
                 f" (table) / {item.snr_measured:.1f} (measured), snippet from the "
                 f"{item.snippet_source}{' dedrifted' if item.dedrift_hz_s else ''}")
    return "\n".join(lines)


def write_sheets(engine: Engine, run: VetRun, directory: str | os.PathLike, *, k: int = 6,
                 coarse_channel_width: int | None = None, progress: Callable[[int], None] | None = None) -> list[Path]:
    """One PNG per event (find_event_pipeline's Hit_ID, else each signal group): the scans stacked on
    one time axis around the hit with its drift line where it really is, the hit's snippet, its
    nearest lookalikes and the verdict in words."""
    from rficat import plots
    from rficat.catalogue import search

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    events: dict[str, Vetted] = {}
    for item in run.items:
        if item.error is not None or item.duplicate_of is not None:
            continue
        best = events.get(item.event)
        if best is None or (item.data.mjd_start or 0) < (best.data.mjd_start or 0):
            events[item.event] = item  # the event's hit in its first scan
    written = []
    for event, item in events.items():
        scans = _sheet_scans(item, run)
        t_ref = min((d.mjd_start or 0.0 for d, _ in scans), default=item.data.mjd_start or 0.0)
        band = _sheet_band(item, scans, t_ref)
        images = []
        for data, role in scans:
            try:
                image = _scan_image(data, role, band, t_ref, coarse_channel_width)
            except RficatError as exc:
                log.warning("sheet %s: scan %s left out: %s", event, data.name, exc)
                continue
            if image is not None:
                images.append(image)
        matches, titles = np.empty((0, 16, 256), np.float32), []
        if run.model_id is not None and item.latent is not None:
            if item.snippet_id is not None:
                found = search.lookalikes(engine, item.snippet_id, k, model_id=run.model_id)
            else:
                found = search.lookalikes_of_vector(engine, item.freq_vector, k, model_id=run.model_id)
            matches = search.match_snippets(engine, found["snippet_id"])
            titles = [f"id {r.snippet_id} sim {r.similarity:.3f}\n{r.f_center_mhz:.6f} MHz" for r in found.itertuples()]
        hit_mid_s = ((item.data.mjd_start or 0.0) - t_ref) * 86400 + item.data.obs_length_s / 2
        path = directory / f"{_safe(event)}.png"
        plots.vetting_sheet(path, images, (hit_mid_s, item.f_center_mhz, item.hit.drift_rate_hz_s or 0.0),
                            item.snippet, matches, titles,
                            title=f"{event}: {item.f_center_mhz:.6f} MHz, {item.verdict}", text=sheet_text(item))
        written.append(path)
        if progress is not None:
            progress(1)
    return written


STORED_COLUMNS = ["snippet_id", "detector", "observation_id", "path", "f_center_mhz", "drift_rate_hz_s", "snr"]


def stored_hits(engine: Engine, limit: int = 500) -> list[dict]:
    """Hits kept by ``rficat vet --store`` (newest first), each with its verdict by the one rule
    (``verdicts.judge_snippets``: the current build's judgement, never a copy)."""
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.text(
            "SELECT s.id AS snippet_id, s.detector, s.observation_id, o.path, s.f_center_mhz, s.drift_rate_hz_s,"
            " s.snr FROM snippets s JOIN observations o ON o.id = s.observation_id"
            " WHERE s.detector IS NOT NULL ORDER BY s.id DESC LIMIT :n"), {"n": limit}).mappings()]
    judged = verdicts.judge_snippets(engine, [r["snippet_id"] for r in rows]) if rows else {}
    for row in rows:
        v = judged.get(row["snippet_id"])
        row.update(verdict=v.verdict if v else "unjudged", explanation=v.explanation if v else verdicts.NO_BUILD,
                   evidence=v.evidence if v else [])
    return rows
