"""Ingest: observation file -> detection -> encoding -> catalogue, in one transaction.

The whole observation is written inside one PostgreSQL transaction (snippets and embeddings
by binary ``COPY``), so a reader never sees half an observation, and a process killed
mid-ingest leaves nothing behind: rerunning does the whole file again. Concurrent ingests of
the same file serialise on an advisory lock keyed by the file's fingerprint (an xxh3-128 hash
of all its bytes, ``rficat.io.fingerprint``), and the unique fingerprint keeps one copy. An
observation already in the catalogue is skipped when it has vectors of the requested model,
and only encoded (from its stored snippets, never the file) when it has not.

A file is identified as ``rficat.catalogue.files.identify`` says (without reading it when it
was seen before at the same path, size and modification time; otherwise hashed front to back
before detection). A file that cannot be ingested (a ``RficatError``: bad header, unreadable
data, nothing usable) is recorded in ``ingest_failures``, so the landing schedule retries it
only once it changes; a file with no usable samples is refused, never stored as complete.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import psycopg
from sqlalchemy.engine import Engine

from rficat.catalogue import models, verdicts
from rficat.catalogue.files import identify, record_failure
from rficat.errors import RficatError
from rficat.io import FINGERPRINT_KIND, FileStat, FilterbankHeader, FilterbankReader
from rficat.science import detect, embedding, measures, snippets
from rficat.science.model import Encoder, resolve_model
from rficat.store import db, pgcopy

log = logging.getLogger(__name__)

SNIPPET_COLUMNS = ("id", "observation_id", "coarse_channel", "chan_start", "chan_stop", "f_start_mhz",
                   "f_stop_mhz", "f_center_mhz", "statistic", "snr", "drift_rate_hz_s", "width_hz", "is_signal",
                   "dedrift_hz_s", "drift_error_hz_s")
STAGES = ("hash", "read", "detect", "encode", "store")
SNIPPET_TYPES = ("int8", "int8", "int4", "int8", "int8", "float8", "float8", "float8", "float8", "float8",
                 "float8", "float8", "bool", "float8")


@dataclass
class IngestSummary:
    """What one ingest did, with per-stage wall-clock seconds."""

    path: str
    status: str  # ingested | skipped | encoded
    observation_id: int | None = None
    model_id: int | None = None
    n_signal: int = 0
    n_noise: int = 0
    n_coarse_channels: int = 0
    n_known_rfi: int = 0  # signal snippets judged RFI (likely or known) by the current build (see verdicts)
    bad_fraction: float = 0.0  # fraction of the file's samples that are NaN or infinite (masked in detection)
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @property
    def n_snippets(self) -> int:
        return self.n_signal + self.n_noise

    def to_dict(self) -> dict:
        return {**asdict(self), "n_snippets": self.n_snippets,
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}


def detection_parameters(header: FilterbankHeader, threshold: float,
                         max_drift_hz_s: float = detect.DEFAULT_MAX_DRIFT_HZ_S) -> dict:
    """How an observation's snippets were cut: stored with it, so later comparisons know."""
    return {"threshold": threshold, "coarse_channel_width": header.coarse_channel_width,
            "n_time_bins": snippets.SNIPPET_SHAPE[0], "n_integrations": header.n_integrations,
            "integrations_per_bin": header.n_integrations / snippets.SNIPPET_SHAPE[0],
            "time_bin_s": header.tsamp_s * header.n_integrations / snippets.SNIPPET_SHAPE[0],
            "window_channels": detect.WINDOW, "stride_channels": detect.STRIDE,
            "max_drift_hz_s": max_drift_hz_s, "fast_threshold": detect.DEFAULT_FAST_THRESHOLD,
            "dedrift_min_hz_s": detect.FAST_SPAN / header.obs_length_s * header.channel_width_hz}


def _header_row(header: FilterbankHeader, stat: FileStat, fp: str, threshold: float | None) -> dict:
    """An observations row; ``threshold`` None: no rficat detection yet (``detection`` NULL, a file
    first seen by ``rficat vet --store``)."""
    detection = None if threshold is None else psycopg.types.json.Jsonb(detection_parameters(header, threshold))
    return {"detection": detection, "path": stat.path,
            "fingerprint": fp, "fingerprint_kind": FINGERPRINT_KIND, "file_size": stat.size,
            "file_mtime_ns": stat.mtime_ns, "source_name": header.source_name, "telescope": header.telescope,
            "mjd_start": header.mjd_start, "ra_deg": header.ra_deg, "dec_deg": header.dec_deg,
            "f_min_mhz": header.f_min_mhz, "f_max_mhz": header.f_max_mhz, "fch1_mhz": header.fch1_mhz,
            "foff_mhz": header.foff_mhz, "tsamp_s": header.tsamp_s, "n_channels": header.n_channels,
            "n_integrations": header.n_integrations, "n_coarse_channels": header.n_coarse_channels,
            "header": psycopg.types.json.Jsonb(header.raw)}


def _copy_block(cur: psycopg.Cursor, observation_id: int, model_id: int, hits: list[detect.Hit],
                stored: np.ndarray, latent: np.ndarray, freq_vectors: np.ndarray, drift_error: np.ndarray) -> np.ndarray:
    """Snippets (``stored``: quantised, see snippets.quantise; ``drift_error``: measures.drift_error_hz_s)
    and their vectors, by binary COPY.
    The vectors arrive outside the HNSW indexes (indexed = false); see index_pending. Returns the new ids."""
    ids = np.array([r[0] for r in cur.execute("SELECT nextval('snippets_id_seq') FROM generate_series(1, %s)",
                                              (len(hits),)).fetchall()], dtype=np.int64)
    attributes = [np.array([getattr(h, name) for h in hits]) for name in SNIPPET_COLUMNS[2:-1]]
    with cur.copy(f"COPY snippets ({', '.join(SNIPPET_COLUMNS)}) FROM STDIN WITH (FORMAT BINARY)") as copy:
        pgcopy.copy_rows(copy, [("int8", ids), ("int8", np.full(len(hits), observation_id)),
                                *zip(SNIPPET_TYPES[2:], attributes), ("float8", drift_error)])
    copy_arrays(cur, ids, stored)
    _copy_embeddings(cur, ids, model_id, latent, freq_vectors)
    return ids


def copy_arrays(cur: psycopg.Cursor, ids, stored: np.ndarray) -> None:
    """Snippet arrays (quantised, see snippets.quantise) into snippet_arrays, which stores them out of line."""
    with cur.copy("COPY snippet_arrays (snippet_id, data) FROM STDIN WITH (FORMAT BINARY)") as copy:
        pgcopy.copy_rows(copy, [("int8", np.asarray(ids)),
                                ("bytea", stored.reshape(len(stored), -1), snippets.STORAGE_DTYPE)])


def _copy_embeddings(cur: psycopg.Cursor, ids, model_id: int, latent: np.ndarray, freq_vectors: np.ndarray) -> None:
    with cur.copy("COPY embeddings (snippet_id, model_id, latent, freq_vector) FROM STDIN WITH (FORMAT BINARY)") as copy:
        pgcopy.copy_rows(copy, [("int8", np.asarray(ids)), ("int4", np.full(len(ids), model_id)),
                                ("vector", latent), ("vector", freq_vectors)])


def encode_stored(cur: psycopg.Cursor, observation_id: int, model_id: int, encoder: Encoder,
                  freq_embedding: embedding.FrequencyEmbedding, batch: int = 4096) -> int:
    """Vectors for an observation's stored snippets that lack this model's; returns how many."""
    rows = cur.execute(
        "SELECT s.id, s.f_center_mhz, a.data FROM snippets s JOIN snippet_arrays a ON a.snippet_id = s.id"
        " WHERE s.observation_id = %s AND NOT EXISTS"
        " (SELECT 1 FROM embeddings e WHERE e.snippet_id = s.id AND e.model_id = %s) ORDER BY s.id",
        (observation_id, model_id)).fetchall()
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        arrays = np.stack([snippets.from_bytes(r[2]) for r in chunk])
        latent = encoder.encode(arrays)
        freqs = freq_embedding.apply(latent, [r[1] for r in chunk])
        _copy_embeddings(cur, [r[0] for r in chunk], model_id, latent, freqs)
    return len(rows)


def _timed(iterable, timings: dict[str, float], key: str):
    """Yield from an iterable, adding the time spent producing each item to timings[key]."""
    iterator = iter(iterable)
    while True:
        t = time.perf_counter()
        item = next(iterator, None)
        timings[key] += time.perf_counter() - t
        if item is None:
            return
        yield item


def ingest_file(engine: Engine, path: str | Path, *, model=None, models_dir: Path | None = None,
                threshold: float = detect.DEFAULT_THRESHOLD, n_noise_per_channel: int = 0,
                coarse_channel_width: int | None = None,
                progress: Callable[[int, int], None] | None = None) -> IngestSummary:
    """Ingest one file (see the module docstring for the guarantees).

    ``model`` (a name, directory or Encoder; weights looked up in ``models_dir``) defaults to
    the catalogue's current model, so what is ingested is what searches see. A file that
    cannot be ingested raises ``RficatError`` and is recorded in ``ingest_failures``.
    ``progress``, if given, is called after each coarse channel with its bytes and the snippets
    cut so far.
    """
    path = Path(path)
    timings = dict.fromkeys(STAGES, 0.0)
    t = time.perf_counter()
    try:
        reader = FilterbankReader(path, coarse_channel_width)
    except RficatError as exc:
        record_failure(engine, path, str(exc))
        raise
    with reader:
        timings["read"] += time.perf_counter() - t
        model_id, encoder = models.catalogue_encoder(engine, models_dir, model)
        freq_embedding = models.frequency_embedding(engine, model_id)
        summary = IngestSummary(str(path), "ingested", model_id=model_id, seconds=timings)
        seen: dict[str, str] = {}
        try:
            return _store_file(engine, reader, summary, encoder, freq_embedding, threshold, n_noise_per_channel,
                               progress, seen)
        except RficatError as exc:  # the file's data: unreadable, or nothing usable
            record_failure(engine, path, str(exc), seen.get("fingerprint"))
            raise


def _store_file(engine: Engine, reader: FilterbankReader, summary: IngestSummary, encoder: Encoder,
                freq_embedding: embedding.FrequencyEmbedding, threshold: float, n_noise_per_channel: int,
                progress: Callable[[int, int], None] | None, seen: dict[str, str]) -> IngestSummary:
    header, path, timings, model_id = reader.header, reader.path, summary.seconds, summary.model_id
    with db.raw_connection(engine) as conn, conn.cursor() as cur:
        identity = identify(cur, path, timings)
        seen["fingerprint"] = identity.fingerprint
        cur.execute("DELETE FROM ingest_failures WHERE path = %s", (str(path.resolve()),))
        detected = identity.observation_id is not None and cur.execute(
            "SELECT detection IS NOT NULL FROM observations WHERE id = %s", (identity.observation_id,)).fetchone()[0]
        if detected:
            summary.observation_id = identity.observation_id
            t = time.perf_counter()
            n = encode_stored(cur, identity.observation_id, model_id, encoder, freq_embedding)
            timings["encode"] += time.perf_counter() - t
            summary.status = "encoded" if n else "skipped"
            conn.commit()
            return summary
        row = _header_row(header, FileStat.of(path), identity.fingerprint, threshold)
        if identity.observation_id is None:
            summary.observation_id = cur.execute(
                f"INSERT INTO observations ({', '.join(row)}, status, ingested_at)"
                f" VALUES ({', '.join(['%s'] * len(row))}, 'complete', now()) RETURNING id",
                list(row.values())).fetchone()[0]
        else:  # only hits kept by `rficat vet --store` so far: rficat's own detections join them
            summary.observation_id = identity.observation_id
            cur.execute(f"UPDATE observations SET ({', '.join(row)}, status, ingested_at)"
                        f" = ({', '.join(['%s'] * len(row))}, 'complete', now()) WHERE id = %s",
                        [*row.values(), identity.observation_id])
        block_bytes = header.n_integrations * header.coarse_channel_width * 4
        time_bin_s = detection_parameters(header, threshold)["time_bin_s"]
        judged = []  # the signals' ids, vectors and measures, judged by the current RFI build at the end
        stats = detect.DetectionStats()
        results = detect.detect_blocks(_timed(reader.coarse_channels(), timings, "read"), header,
                                       threshold, n_noise_per_channel)
        while True:
            t, read_before = time.perf_counter(), timings["read"]
            item = next(results, None)
            if item is None:
                break
            _, result = item
            stored = snippets.quantise(snippets.normalise(result.snippets))
            pictures = snippets.dequantise(stored)  # what is stored, as the encoder and the drift error see it
            # a track's drift is known to the dedoppler search's resolution, however noisy its bins
            # are one by one; the others' from their bins; both widened where the path wanders
            track_error = np.array([h.track_drift_error_hz_s for h in result.hits], dtype=np.float64)
            drift_error = measures.drift_error_hz_s(pictures, header.foff_mhz * 1e6, time_bin_s, known=track_error)
            timings["detect"] += time.perf_counter() - t - (timings["read"] - read_before)
            summary.n_coarse_channels += 1
            n_noise = sum(not h.is_signal for h in result.hits)
            stats.add(result, n_noise)
            if result.hits:
                t = time.perf_counter()
                latent = encoder.encode(pictures)
                freqs = freq_embedding.apply(latent, [h.f_center_mhz for h in result.hits])
                timings["encode"] += time.perf_counter() - t
                t = time.perf_counter()
                ids = _copy_block(cur, summary.observation_id, model_id, result.hits, stored, latent, freqs,
                                  drift_error)
                signal = np.array([h.is_signal for h in result.hits])
                judged.append((ids[signal], latent[signal], drift_error[signal],
                               np.array([(h.drift_rate_hz_s, h.snr, h.f_center_mhz) for h in result.hits])[signal]))
                timings["store"] += time.perf_counter() - t
                summary.n_noise += n_noise
                summary.n_signal += len(result.hits) - n_noise
            if progress is not None:
                progress(block_bytes, summary.n_snippets)
        stats.check_usable(path)  # nothing usable: raises, and the transaction is rolled back
        summary.bad_fraction = stats.bad_fraction
        t = time.perf_counter()
        cur.execute("UPDATE observations SET detection = detection || %s WHERE id = %s",
                    (psycopg.types.json.Jsonb({"n_bad_samples": stats.n_bad_samples,
                                               "n_samples": stats.n_samples,
                                               "n_unusable_windows": stats.n_nonfinite_windows}),
                     summary.observation_id))
        one_channel_over_scan = abs(header.foff_mhz) * 1e6 / (header.tsamp_s * header.n_integrations)
        summary.n_known_rfi = verdicts.judge_new_snippets(conn, summary.observation_id, model_id, judged,
                                                          one_channel_over_scan)
        conn.commit()
        timings["store"] += time.perf_counter() - t
        # a catalogue of a few dozen observations never reaches autovacuum's threshold, and
        # without statistics the planner joins before using the HNSW index (25x slower)
        conn.execute("ANALYZE observations")
        conn.commit()
    return summary


def reencode_observation(engine: Engine, observation_id: int, model=None, models_dir: Path | None = None) -> int:
    """Vectors of one observation's stored snippets under a model, in one transaction."""
    encoder = resolve_model(model, models_dir)
    model_id = models.register(engine, encoder)
    freq_embedding = models.frequency_embedding(engine, model_id)
    with db.raw_connection(engine) as conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (observation_id,))
        n = encode_stored(cur, observation_id, model_id, encoder, freq_embedding)
        conn.commit()
    return n
