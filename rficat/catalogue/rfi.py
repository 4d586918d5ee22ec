"""The RFI database: cluster the catalogue's morphologies into classes, keep them, use them.

A build clusters a random sample of the signal snippets' latent vectors (unit length, so
euclidean distance orders like cosine) with HDBSCAN (scikit-learn's), which finds classes of
uneven size and leaves rare morphologies as noise instead of forcing them into a class, as
GLOBULAR did per batch. Only the sample is held in memory; every other snippet is assigned in
PostgreSQL to its nearest class centroid when it lies within the class radius (a high
quantile of the clustered members' distances) and its drift rate lies within the class's drift
range. The drift gate is physics the latent space does not guarantee: a carrier drifting at
1 Hz/s is not a stationary carrier however alike the two snippets look, and such drifting
signals are exactly the ones a technosignature search must not lose. Builds are versioned;
labels move to a new build's class when its centroid matches an old labelled one (cosine
similarity >= 0.9).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rficat.catalogue import models
from rficat.errors import RficatError

log = logging.getLogger(__name__)

EXEMPLARS = 12
LABEL_MATCH_SIMILARITY = 0.9
RADIUS_QUANTILE = 0.98
# Drift range of a class: 5th-95th percentile of its clustered members, widened by this much
# (about 10 fine channels across a 16-integration GBT snippet; well above the drift estimator's
# scatter on stationary carriers, far below the drifts of the ETI-like signals we must keep).
DRIFT_PERCENTILES = (5, 95)
DRIFT_TOLERANCE_HZ_S = 0.1
HISTOGRAM_BINS = 50


@dataclass
class BuildSummary:
    build_id: int
    model_id: int
    n_sampled: int
    n_classes: int
    n_assigned: int
    labels_carried: int
    seconds: float
    labels_left_behind: list[str] = field(default_factory=list)  # stay on the previous build's classes

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def sample_latent(engine: Engine, model_id: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids, unit latent vectors and drift rates (NaN: unknown) of up to n random signal snippets."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
        rows = conn.execute(sa.text(
            "SELECT e.snippet_id, e.latent, s.drift_rate_hz_s"
            " FROM embeddings e JOIN snippets s ON s.id = e.snippet_id"
            " WHERE e.model_id = :m AND s.is_signal ORDER BY random() LIMIT :n"), {"m": model_id, "n": n}).all()
    if not rows:
        raise RficatError("the catalogue has no signal snippets with vectors to build RFI classes from; ingest first")
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    z = np.array([r[1].to_numpy() for r in rows], dtype=np.float64)
    drift = np.array([r[2] for r in rows], dtype=np.float64)  # None (no estimate) becomes NaN
    return ids, z / np.clip(np.linalg.norm(z, axis=1, keepdims=True), 1e-12, None), drift


def cluster(z: np.ndarray, min_cluster_size: int) -> np.ndarray:
    """HDBSCAN labels (-1: no class) of unit vectors."""
    from sklearn.cluster import HDBSCAN

    if len(z) < max(2, min_cluster_size):
        raise RficatError(f"{len(z)} snippets are too few for classes of at least {min_cluster_size}")
    return HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min(min_cluster_size, 10),
                   copy=True).fit_predict(z)


def _drift_range(drift: np.ndarray) -> tuple[float | None, float | None]:
    known = drift[np.isfinite(drift)]
    if not len(known):
        return None, None  # no drift estimates: the class does not gate on drift
    low, high = np.percentile(known, DRIFT_PERCENTILES)
    return float(low - DRIFT_TOLERANCE_HZ_S), float(high + DRIFT_TOLERANCE_HZ_S)


def _class_rows(ids: np.ndarray, z: np.ndarray, drift: np.ndarray, labels: np.ndarray) -> list[dict]:
    rows = []
    for label in sorted(set(labels) - {-1}):
        members = labels == label
        centroid = z[members].mean(axis=0)
        centroid /= np.linalg.norm(centroid)
        distance = 1.0 - z[members] @ centroid
        order = np.argsort(distance)[:EXEMPLARS]
        drift_min, drift_max = _drift_range(drift[members])
        rows.append({"centroid": centroid, "radius": float(np.quantile(distance, RADIUS_QUANTILE)),
                     "drift_min": drift_min, "drift_max": drift_max,
                     "exemplars": [int(i) for i in ids[members][order]]})
    return rows


def _current_build(conn) -> sa.Row | None:
    return conn.execute(sa.text("SELECT id, model_id FROM rfi_builds WHERE is_current")).first()


def build(engine: Engine, model_id: int | None = None, min_cluster_size: int = 15, sample: int = 50_000,
          seed: int = 0, stage: Callable[[str], None] = lambda description: None) -> BuildSummary:
    """Cluster a sample, store a new build with its classes, assign every signal snippet, make it current.

    ``stage`` is told each step as it starts (the CLI shows it; at 10^6 snippets a build takes minutes).
    """
    if min_cluster_size < 2:
        raise RficatError(f"min_cluster_size must be at least 2 (a class of one snippet is no class), "
                          f"got {min_cluster_size}")
    if sample < 1:
        raise RficatError(f"sample must be at least 1 snippet, got {sample}")
    started = time.perf_counter()
    model_id = models.require_current_model(engine) if model_id is None else model_id
    stage(f"sampling up to {sample} snippets")
    ids, z, drift = sample_latent(engine, model_id, sample, seed)
    log.info("clustering %d snippets (min cluster size %d)", len(ids), min_cluster_size)
    stage(f"clustering {len(ids)} snippets (HDBSCAN)")
    labels = cluster(z, min_cluster_size)
    classes = _class_rows(ids, z, drift, labels)
    if not classes:
        raise RficatError(f"no class of at least {min_cluster_size} lookalike snippets among {len(ids)}; "
                          "lower --min-cluster-size or ingest more")
    params = {"min_cluster_size": min_cluster_size, "sample": sample, "seed": seed, "method": "hdbscan",
              "radius_quantile": RADIUS_QUANTILE, "drift_percentiles": list(DRIFT_PERCENTILES),
              "drift_tolerance_hz_s": DRIFT_TOLERANCE_HZ_S}
    with engine.begin() as conn:
        previous = _current_build(conn)
        build_id = conn.execute(sa.text(
            "INSERT INTO rfi_builds (model_id, params, n_sampled, n_classes) VALUES (:m, CAST(:p AS jsonb), :n, :k)"
            " RETURNING id"), {"m": model_id, "p": json.dumps(params), "n": len(ids), "k": len(classes)}).scalar_one()
        for c in classes:
            c["id"] = conn.execute(sa.text(
                "INSERT INTO rfi_classes (build_id, centroid, radius, drift_min_hz_s, drift_max_hz_s, exemplar_ids)"
                " VALUES (:b, :c, :r, :lo, :hi, :e) RETURNING id"),
                {"b": build_id, "c": c["centroid"].astype(np.float32), "r": c["radius"], "lo": c["drift_min"],
                 "hi": c["drift_max"], "e": c["exemplars"]}).scalar_one()
        carried = _carry_labels(conn, build_id, previous.id if previous else None)
        left = conn.execute(sa.text(
            "SELECT o.label FROM rfi_classes o WHERE o.build_id = :old AND o.label IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM rfi_classes n WHERE n.build_id = :new AND n.matched_from = o.id) ORDER BY o.id"),
            {"old": previous.id if previous else -1, "new": build_id}).scalars().all()
        for label in left:  # never silently: the label stays on the old build's class
            log.warning("label %r matched no class of the new build; it stays on build %d", label, previous.id)
        conn.execute(sa.text("UPDATE rfi_builds SET is_current = false WHERE is_current"))
        conn.execute(sa.text("UPDATE rfi_builds SET is_current = true WHERE id = :b"), {"b": build_id})
        stage(f"assigning every signal snippet to its nearest of {len(classes)} classes")
        n_assigned = conn.execute(sa.text("SELECT rficat_assign_rfi(NULL)")).scalar_one()
        stage("class statistics")
        _class_statistics(conn, build_id)
        seconds = time.perf_counter() - started
        conn.execute(sa.text("UPDATE rfi_builds SET n_assigned = :a, seconds = :s WHERE id = :b"),
                     {"a": n_assigned, "s": seconds, "b": build_id})
    return BuildSummary(build_id, model_id, len(ids), len(classes), n_assigned, carried, round(seconds, 2), list(left))


def _carry_labels(conn, build_id: int, previous_build: int | None) -> int:
    """Give each new class the label of the most similar labelled class of the previous build."""
    if previous_build is None:
        return 0
    result = conn.execute(sa.text(
        "UPDATE rfi_classes c SET label = m.label, notes = m.notes, matched_from = m.id"
        " FROM (SELECT DISTINCT ON (n.id) n.id AS new_id, o.id, o.label, o.notes"
        "       FROM rfi_classes n JOIN rfi_classes o ON o.build_id = :old AND o.label IS NOT NULL"
        "       WHERE n.build_id = :new AND 1 - (n.centroid <=> o.centroid) >= :sim"
        "       ORDER BY n.id, n.centroid <=> o.centroid) m"
        " WHERE c.id = m.new_id"), {"old": previous_build, "new": build_id, "sim": LABEL_MATCH_SIMILARITY})
    return result.rowcount


def _class_statistics(conn, build_id: int) -> None:
    conn.execute(sa.text(f"""
        WITH members AS (
            SELECT a.class_id, s.f_center_mhz, s.drift_rate_hz_s, s.width_hz, s.snr, s.observation_id
            FROM rfi_assignments a JOIN snippets s ON s.id = a.snippet_id WHERE a.build_id = :b
        ), stats AS (
            SELECT class_id, count(*) AS size, count(DISTINCT observation_id) AS n_obs,
                   min(f_center_mhz) AS f_min, max(f_center_mhz) AS f_max,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY drift_rate_hz_s) AS drift_median,
                   percentile_cont(0.75) WITHIN GROUP (ORDER BY drift_rate_hz_s)
                     - percentile_cont(0.25) WITHIN GROUP (ORDER BY drift_rate_hz_s) AS drift_iqr,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY width_hz) AS width_median,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY snr) AS snr_median
            FROM members GROUP BY class_id
        ), cadences AS (
            SELECT m.class_id, count(DISTINCT cm.cadence_id) AS n
            FROM members m JOIN cadence_members cm ON cm.observation_id = m.observation_id GROUP BY m.class_id
        ), bins AS (
            SELECT m.class_id, width_bucket(m.f_center_mhz, st.f_min, st.f_max + 1e-9, {HISTOGRAM_BINS}) AS bin,
                   count(*) AS n
            FROM members m JOIN stats st ON st.class_id = m.class_id GROUP BY 1, 2
        ), histograms AS (
            SELECT st.class_id, jsonb_build_object(
                'edges_mhz', (SELECT jsonb_agg(st.f_min + (st.f_max + 1e-9 - st.f_min) * g / {HISTOGRAM_BINS})
                              FROM generate_series(0, {HISTOGRAM_BINS}) g),
                'counts', (SELECT jsonb_agg(coalesce(b.n, 0) ORDER BY g)
                           FROM generate_series(1, {HISTOGRAM_BINS}) g
                           LEFT JOIN bins b ON b.class_id = st.class_id AND b.bin = g)) AS h
            FROM stats st
        )
        UPDATE rfi_classes c SET size = st.size, n_observations = st.n_obs, n_cadences = coalesce(cd.n, 0),
               f_min_mhz = st.f_min, f_max_mhz = st.f_max, drift_median_hz_s = st.drift_median,
               drift_iqr_hz_s = st.drift_iqr, width_median_hz = st.width_median, snr_median = st.snr_median,
               frequency_occupancy = h.h
        FROM stats st LEFT JOIN cadences cd ON cd.class_id = st.class_id JOIN histograms h ON h.class_id = st.class_id
        WHERE c.id = st.class_id"""), {"b": build_id})


# --- using the classes ---------------------------------------------------------------------------

CLASS_COLUMNS = ["class_id", "build_id", "label", "notes", "size", "n_observations", "n_cadences",
                 "f_min_mhz", "f_max_mhz", "drift_median_hz_s", "snr_median", "radius", "exemplar_ids",
                 "drift_min_hz_s", "drift_max_hz_s", "width_median_hz"]


def staleness(engine: Engine) -> list[str]:
    """Why the current build may no longer describe the catalogue (empty: it does)."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT b.id, b.model_id, rficat_current_model() AS current_model,"
            " (b.params->>'min_cluster_size')::int AS min_cluster_size,"
            " (SELECT count(*) FROM snippets s JOIN embeddings e ON e.snippet_id = s.id AND e.model_id = b.model_id"
            "  WHERE s.is_signal AND s.created_at > b.created_at AND NOT EXISTS"
            "  (SELECT 1 FROM rfi_assignments a WHERE a.snippet_id = s.id AND a.build_id = b.id)) AS new_unclassed"
            " FROM rfi_builds b WHERE b.is_current")).mappings().first()
    if row is None:
        return []
    reasons = []
    if row["model_id"] != row["current_model"]:
        reasons.append(f"RFI build {row['id']} clusters model {row['model_id']}'s vectors but the current model is "
                       f"{row['current_model']}: snippets encoded only by the current model are never flagged; "
                       "run `rficat rfi build`")
    if row["new_unclassed"] >= row["min_cluster_size"]:
        reasons.append(f"{row['new_unclassed']} signal snippets ingested since RFI build {row['id']} fell in no class, "
                       f"enough for a new one (min cluster size {row['min_cluster_size']}); run `rficat rfi build`")
    return reasons


def list_classes(engine: Engine):
    """The current build's classes, largest first (SQL view ``rfi_class_summary``); warns when it is stale."""
    from rficat.store.db import query_frame

    with engine.connect() as conn:
        if _current_build(conn) is None:
            raise RficatError("no RFI classes yet: run `rficat rfi build` first")
    for reason in staleness(engine):
        log.warning(reason)
    return query_frame(engine, "SELECT * FROM rfi_class_summary ORDER BY size DESC, class_id", {}, CLASS_COLUMNS)


def get_class(engine: Engine, class_id: int) -> dict:
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT c.*, b.is_current FROM rfi_classes c JOIN rfi_builds b ON b.id = c.build_id WHERE c.id = :c"),
            {"c": class_id}).mappings().first()
    if row is None:
        raise RficatError(f"no RFI class {class_id}")
    return dict(row)


def label_class(engine: Engine, class_id: int, label: str, notes: str | None = None) -> dict:
    """Set a class's label (and notes); only classes of the current build can be labelled."""
    cls = get_class(engine, class_id)
    if not cls["is_current"]:
        raise RficatError(f"RFI class {class_id} belongs to build {cls['build_id']}, which is no longer current; "
                          "label the matching class of the current build (rficat rfi list)")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE rfi_classes SET label = :l, notes = coalesce(:n, notes) WHERE id = :c"),
                     {"l": label, "n": notes, "c": class_id})
    return {"class_id": class_id, "label": label, "notes": notes if notes is not None else cls["notes"]}


def assign_observation(conn, observation_id: int, model_id: int) -> int:
    """Flag an observation's new snippets as known RFI where they fall in a current class.

    ``model_id`` is the model that just encoded them; when the current build clusters another
    model's vectors the snippets cannot be checked, and the user is told instead of left to
    believe the observation is free of known RFI.
    """
    build = conn.execute("SELECT id, model_id FROM rfi_builds WHERE is_current").fetchone()
    if build is not None and build[1] != model_id:
        log.warning("observation %d was encoded by model %d but RFI build %d clusters model %d's vectors: "
                    "its snippets are not checked against known RFI; run `rficat rfi build --model-id %d`",
                    observation_id, model_id, build[0], build[1], model_id)
    return conn.execute("SELECT rficat_assign_rfi(%s)", (observation_id,)).fetchone()[0]
