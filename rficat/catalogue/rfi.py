"""The RFI database: cluster the catalogue's morphologies into classes, judge every snippet.

A build draws a random sample of the signal snippets (latent vectors of unit length, drift
rates with their errors) and clusters it with HDBSCAN's *leaf* selection (Walmsley & Scaife):
small, tight groups rather than the few large ones that merge several morphologies. Each group
is split wherever its drift rates jump by more than their tolerance, so a class never mixes a
stationary carrier with a drifting one, and groups of one morphology and drift are merged
again. A class keeps its own scale (how close its members are to each other), not a radius
that decides membership.

The build then keeps a bounded *bank* (up to ``BANK_PER_CLASS`` members of each class and the
sample's other snippets of reference observations) and judges every signal snippet against it
(``rficat.catalogue.verdicts``): RFI needs drift-consistent lookalikes seen where no target's
signal can be. Everything is written in one transaction and the build becomes current at its
end, so a failed or interrupted build leaves the previous one current and nothing half-written.
Builds are versioned; labels move to a new build's class when its centroid matches an old
labelled one (cosine similarity >= 0.9).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Engine

from rficat.catalogue import models, verdicts
from rficat.errors import RficatError
from rficat.store import db

log = logging.getLogger(__name__)

EXEMPLARS = 12
LABEL_MATCH_SIMILARITY = 0.9
RADIUS_QUANTILE = 0.98
MIN_SAMPLES = 3  # HDBSCAN's density smoothing: small, so leaves stay tight
MERGE_SIMILARITY = 0.97  # leaf groups whose centroids are this alike (and drift alike) are one class
NN_QUANTILE = 0.95  # a class's own scale: this quantile of its members' nearest-member distances
BANK_PER_CLASS = 500  # members of each class kept for verdicts (a bounded, in-memory sample)
JUDGE_BATCH = 50_000  # snippets read and judged at a time by a build
# Drift range of a class (shown, not a gate): 5th-95th percentile of its clustered members,
# widened by their typical drift tolerance.
DRIFT_PERCENTILES = (5, 95)
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
    n_judged: int = 0  # signal snippets given a verdict (n_assigned: of them, judged RFI)

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass
class Sample:
    """A random sample of signal snippets with what verdicts and classes need, as arrays."""

    ids: np.ndarray
    z: np.ndarray  # unit latent vectors
    drift: np.ndarray  # Hz/s (NaN: unknown)
    drift_error: np.ndarray  # Hz/s (NaN: not measured)
    snr: np.ndarray
    observation_id: np.ndarray
    f_center_mhz: np.ndarray
    floor: np.ndarray  # one channel over the scan, Hz/s
    reference: np.ndarray  # in an OFF scan or an observation outside any ON role


def check_catalogue(engine: Engine, model_id: int) -> None:
    """Explain, in one line, what a catalogue lacks for verdicts (no signals; one observation; no
    OFF scan or observation outside an ON role to take evidence from)."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT count(DISTINCT s.observation_id) AS n_obs, count(*) AS n_signal,"
            " count(DISTINCT s.observation_id) FILTER (WHERE " + verdicts.REFERENCE_SQL.format(obs="s.observation_id") +
            ") AS n_reference FROM snippets s JOIN embeddings e ON e.snippet_id = s.id AND e.model_id = :m"
            " WHERE s.is_signal"), {"m": model_id}).mappings().one()
    if row["n_signal"] == 0:
        raise RficatError("the catalogue has no signal snippets with vectors to build RFI classes from; ingest first")
    if row["n_obs"] < 2:
        raise RficatError("the catalogue has signals from 1 observation only: RFI verdicts need lookalikes seen in "
                          "other observations (OFF scans or observations outside any cadence's ON role); ingest more")
    if row["n_reference"] == 0:
        raise RficatError("every observation is an ON scan: RFI verdicts need OFF scans or observations outside any "
                          "cadence's ON role to take evidence from; ingest or add some")


def sample_snippets(engine: Engine, model_id: int, n: int, seed: int) -> Sample:
    """Up to n random signal snippets of the model's vectors."""
    with db.raw_connection(engine) as conn:
        conn.execute("SELECT setseed(%s)", ((seed % 1000) / 1000,))
        rows = conn.cursor(binary=True).execute(
            "SELECT s.id, e.latent, s.drift_rate_hz_s, s.drift_error_hz_s, s.snr, s.observation_id, s.f_center_mhz, "
            + verdicts.FLOOR_SQL + ", " + verdicts.REFERENCE_SQL.format(obs="s.observation_id") +
            " FROM snippets s JOIN observations o ON o.id = s.observation_id"
            " JOIN embeddings e ON e.snippet_id = s.id AND e.model_id = %s"
            " WHERE s.is_signal ORDER BY random() LIMIT %s", (model_id, n)).fetchall()
    if not rows:
        raise RficatError("the catalogue has no signal snippets with vectors to build RFI classes from; ingest first")
    c = list(zip(*rows))
    z = verdicts.vectors(c[1])

    def f(values):
        return np.array(values, dtype=np.float64)  # None becomes NaN

    return Sample(np.array(c[0], dtype=np.int64), z / np.clip(np.linalg.norm(z, axis=1, keepdims=True), 1e-12, None),
                  f(c[2]), f(c[3]), f(c[4]), np.array(c[5], dtype=np.int64), f(c[6]), f(c[7]), np.array(c[8], bool))


def cluster(z: np.ndarray, min_cluster_size: int, min_samples: int | None = None) -> np.ndarray:
    """HDBSCAN leaf clusters (-1: no class) of unit vectors: the small, tight groups at the
    leaves of the cluster tree (Walmsley & Scaife), not the few large ones that merge morphologies."""
    from sklearn.cluster import HDBSCAN

    if len(z) < max(2, min_cluster_size):
        raise RficatError(f"{len(z)} snippets are too few for classes of at least {min_cluster_size}")
    return HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples or MIN_SAMPLES,
                   cluster_selection_method="leaf", copy=True).fit_predict(z)


def split_by_drift(members: np.ndarray, drift: np.ndarray, tolerance: np.ndarray) -> list[np.ndarray]:
    """A cluster's members split wherever sorted drift rates jump by more than twice the
    tolerance of the members on either side (so a class never mixes drift modes; a burst's
    poorly measured drift has a wide tolerance and is not split off)."""
    order = members[np.argsort(drift[members], kind="stable")]
    groups, current = [], [order[0]]
    for a, b in itertools.pairwise(order):
        if drift[b] - drift[a] > 2 * max(np.median(tolerance[current]), tolerance[b]):
            groups.append(np.array(current))
            current = []
        current.append(b)
    groups.append(np.array(current))
    return groups


def _unit_mean(z: np.ndarray) -> np.ndarray:
    m = z.mean(axis=0)
    return m / np.linalg.norm(m)


def merge_groups(groups: list[np.ndarray], z: np.ndarray, drift: np.ndarray, tolerance: np.ndarray,
                 similarity: float) -> list[np.ndarray]:
    """Join leaf groups of one morphology and drift (centroid cosine >= similarity, median drifts
    within twice the larger group tolerance): leaves often split one emitter kind by emitter."""
    groups = list(groups)
    merged = True
    while merged:
        merged = False
        centroids = np.array([_unit_mean(z[g]) for g in groups])
        medians = np.array([np.median(drift[g]) for g in groups])
        tols = np.array([np.median(tolerance[g]) for g in groups])
        sims = centroids @ centroids.T
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                if sims[a, b] >= similarity and abs(medians[a] - medians[b]) <= 2 * max(tols[a], tols[b]):
                    groups[a] = np.concatenate([groups[a], groups.pop(b)])
                    merged = True
                    break
            if merged:
                break
    return groups


def find_classes(z: np.ndarray, drift: np.ndarray, tolerance: np.ndarray, min_cluster_size: int,
                 min_samples: int | None = None) -> np.ndarray:
    """Class labels (-1: none) of unit latent vectors: leaf clusters, split by drift, merged by
    morphology and drift; groups smaller than half the minimum cluster size are dropped.
    Snippets without a drift rate join no class."""
    labels = cluster(z, min_cluster_size, min_samples)
    known = np.isfinite(drift)
    groups = []
    for label in range(labels.max() + 1):
        members = np.flatnonzero((labels == label) & known)
        if len(members):
            groups += split_by_drift(members, drift, tolerance)
    keep = max(3, min_cluster_size // 2)
    groups = [g for g in merge_groups([g for g in groups if len(g) >= keep], z, drift, tolerance,
                                      MERGE_SIMILARITY) if len(g) >= keep]
    out = np.full(len(z), -1)
    for k, g in enumerate(sorted(groups, key=len, reverse=True)):
        out[g] = k
    return out


def nn_distances(z: np.ndarray) -> np.ndarray:
    """Each member's cosine distance to its nearest other member (unit vectors)."""
    if len(z) < 2:
        return np.zeros(len(z))
    similarity = z @ z.T
    np.fill_diagonal(similarity, -np.inf)
    return 1.0 - similarity.max(axis=1)


def _drift_range(drift: np.ndarray, tolerance: np.ndarray) -> tuple[float | None, float | None]:
    known = np.isfinite(drift)
    if not known.any():
        return None, None
    low, high = np.percentile(drift[known], DRIFT_PERCENTILES)
    pad = float(np.median(tolerance[known]))
    return float(low - pad), float(high + pad)


def _classes_and_bank(sample: Sample, labels: np.ndarray, tolerance: np.ndarray,
                      rng: np.random.Generator) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """Class rows, and the bank: indices into the sample with the class index of each (-1: none)."""
    classes, bank, bank_class = [], [], []
    for label in range(labels.max() + 1):
        members = np.flatnonzero(labels == label)
        centroid = sample.z[members].mean(axis=0)
        centroid /= np.linalg.norm(centroid)
        distance = 1.0 - sample.z[members] @ centroid
        kept = members if len(members) <= BANK_PER_CLASS else np.sort(rng.choice(members, BANK_PER_CLASS, replace=False))
        drift_min, drift_max = _drift_range(sample.drift[members], tolerance[members])
        classes.append({
            "centroid": centroid, "radius": float(np.quantile(distance, RADIUS_QUANTILE)),
            "nn_distance": float(np.quantile(nn_distances(sample.z[kept]), NN_QUANTILE)),
            "drift_min": drift_min, "drift_max": drift_max,
            "exemplars": [int(i) for i in sample.ids[members][np.argsort(distance)[:EXEMPLARS]]]})
        bank.append(kept)
        bank_class.append(np.full(len(kept), label))
    others = np.flatnonzero((labels < 0) & sample.reference)
    bank.append(others)
    bank_class.append(np.full(len(others), -1))
    return classes, np.concatenate(bank).astype(np.int64), np.concatenate(bank_class)


def _keep_classes_that_hold(drawn: Sample, labels: np.ndarray, tolerance: np.ndarray, rules: verdicts.Rules,
                            keep: int, seed: int) -> np.ndarray:
    """Labels without the classes that fewer than ``keep`` of the sample's snippets would join by
    local density (a group that HDBSCAN found but that the verdict's membership rule never picks,
    e.g. a few snippets inside a larger class of another drift); renumbered."""
    if labels.max() < 0:
        return labels
    classes, rows, bank_class = _classes_and_bank(drawn, labels, tolerance, np.random.default_rng(seed))
    bank = verdicts.Bank(None, drawn.ids[rows], drawn.z[rows], drawn.drift[rows], drawn.drift_error[rows],
                         drawn.observation_id[rows], bank_class, drawn.reference[rows],
                         {i: c["nn_distance"] for i, c in enumerate(classes)})
    member = np.full(len(drawn.ids), -1)
    for start in range(0, len(drawn.ids), JUDGE_BATCH):
        part = slice(start, start + JUDGE_BATCH)
        index, distance = bank.nearest(drawn.z[part], rules.k)
        member[part] = verdicts.membership(bank, rules, index, distance, drawn.drift[part], tolerance[part])[0]
    held = np.bincount(member[member >= 0], minlength=len(classes))
    kept = np.flatnonzero(held >= keep)
    if len(kept) < len(classes):
        log.info("%d of %d classes hold fewer than %d snippets by local density; dropped",
                 len(classes) - len(kept), len(classes), keep)
    renumber = np.full(len(classes) + 1, -1)
    renumber[kept] = np.arange(len(kept))
    return renumber[labels]


def _current_build(conn) -> sa.Row | None:
    return conn.execute(sa.text("SELECT id, model_id FROM rfi_builds WHERE is_current")).first()


def build(engine: Engine, model_id: int | None = None, min_cluster_size: int = 10, sample: int = 50_000,
          seed: int = 0, stage: Callable[[str], None] = lambda description: None,
          rules: verdicts.Rules | None = None) -> BuildSummary:
    """Cluster a sample, keep its classes and bank, judge every signal snippet, make the build current.

    ``stage`` is told each step as it starts (the CLI shows it; at 10^6 snippets a build takes
    minutes). All of it is one transaction: until the build is complete the previous one stays current.
    """
    if min_cluster_size < 2:
        raise RficatError(f"min_cluster_size must be at least 2 (a class of one snippet is no class), "
                          f"got {min_cluster_size}")
    if sample < 1:
        raise RficatError(f"sample must be at least 1 snippet, got {sample}")
    started = time.perf_counter()
    rules = rules or verdicts.Rules()
    model_id = models.require_current_model(engine) if model_id is None else model_id
    check_catalogue(engine, model_id)
    stage(f"sampling up to {sample} snippets")
    drawn = sample_snippets(engine, model_id, sample, seed)
    tolerance = verdicts.tolerance(drawn.drift_error, drawn.floor, rules)
    log.info("clustering %d snippets (min cluster size %d)", len(drawn.ids), min_cluster_size)
    stage(f"clustering {len(drawn.ids)} snippets (HDBSCAN, leaf)")
    labels = find_classes(drawn.z, drawn.drift, tolerance, min_cluster_size)
    labels = _keep_classes_that_hold(drawn, labels, tolerance, rules, max(3, min_cluster_size // 2), seed)
    classes, bank_rows, bank_class = _classes_and_bank(drawn, labels, tolerance, np.random.default_rng(seed))
    if not classes:
        log.warning("no class of at least %d lookalike snippets among %d: verdicts rest on lookalikes alone",
                    min_cluster_size, len(drawn.ids))
    params = {"min_cluster_size": min_cluster_size, "sample": sample, "seed": seed, "method": "hdbscan-leaf",
              "min_samples": MIN_SAMPLES, "merge_similarity": MERGE_SIMILARITY, "nn_quantile": NN_QUANTILE,
              "bank_per_class": BANK_PER_CLASS, "radius_quantile": RADIUS_QUANTILE,
              "tolerance_floor_hz_s": float(np.nanmedian(drawn.floor)) if np.isfinite(drawn.floor).any() else None,
              "verdict": rules.to_dict()}
    with db.raw_connection(engine) as conn:
        previous = conn.execute("SELECT id FROM rfi_builds WHERE is_current").fetchone()
        build_id = conn.execute(
            "INSERT INTO rfi_builds (model_id, params, n_sampled, n_classes) VALUES (%s, %s, %s, %s) RETURNING id",
            (model_id, Jsonb(params), len(drawn.ids), len(classes))).fetchone()[0]
        for c in classes:
            c["id"] = conn.execute(
                "INSERT INTO rfi_classes (build_id, centroid, radius, nn_distance, drift_min_hz_s, drift_max_hz_s,"
                " exemplar_ids) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (build_id, c["centroid"].astype(np.float32), c["radius"], c["nn_distance"], c["drift_min"],
                 c["drift_max"], c["exemplars"])).fetchone()[0]
        class_ids = np.array([c["id"] for c in classes] + [-1], dtype=np.int64)[bank_class]
        bank = _store_bank(conn, build_id, drawn, bank_rows, class_ids, classes)
        stage(f"judging every signal snippet against {len(bank)} banked lookalikes and {len(classes)} classes")
        n_judged, n_rfi = _judge_all(conn, build_id, model_id, bank, rules)
        stage("class statistics")
        _class_statistics(conn, build_id)
        carried = _carry_labels(conn, build_id, previous[0] if previous else None)
        left = [r[0] for r in conn.execute(
            "SELECT o.label FROM rfi_classes o WHERE o.build_id = %s AND o.label IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM rfi_classes n WHERE n.build_id = %s AND n.matched_from = o.id) ORDER BY o.id",
            (previous[0] if previous else -1, build_id)).fetchall()]
        for label in left:  # never silently: the label stays on the old build's class
            log.warning("label %r matched no class of the new build; it stays on build %d", label, previous[0])
        seconds = time.perf_counter() - started
        conn.execute("UPDATE rfi_builds SET n_assigned = %s, seconds = %s WHERE id = %s", (n_rfi, seconds, build_id))
        # the last step: only a complete build ever becomes current
        conn.execute("UPDATE rfi_builds SET is_current = false WHERE is_current")
        conn.execute("UPDATE rfi_builds SET is_current = true WHERE id = %s", (build_id,))
        conn.commit()
    return BuildSummary(build_id, model_id, len(drawn.ids), len(classes), n_rfi, carried, round(seconds, 2), left,
                        n_judged)


def _store_bank(conn, build_id: int, drawn: Sample, rows: np.ndarray, class_ids: np.ndarray,
                classes: list[dict]) -> verdicts.Bank:
    with conn.cursor().copy("COPY rfi_bank (build_id, snippet_id, class_id, observation_id, f_center_mhz,"
                            " drift_rate_hz_s, drift_error_hz_s, latent) FROM STDIN") as copy:
        for i, c in zip(rows, class_ids):
            copy.write_row((build_id, int(drawn.ids[i]), None if c < 0 else int(c), int(drawn.observation_id[i]),
                            float(drawn.f_center_mhz[i]), _or_none(drawn.drift[i]), _or_none(drawn.drift_error[i]),
                            drawn.z[i].astype(np.float32)))
    return verdicts.Bank(build_id, drawn.ids[rows], drawn.z[rows], drawn.drift[rows], drawn.drift_error[rows],
                         drawn.observation_id[rows], class_ids, drawn.reference[rows],
                         {c["id"]: c["nn_distance"] for c in classes}, {c["id"]: None for c in classes},
                         f_center_mhz=drawn.f_center_mhz[rows],
                         track_mhz=verdicts.track_mhz(conn, drawn.observation_id[rows], drawn.drift[rows]))


def _or_none(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def _judge_all(conn, build_id: int, model_id: int, bank: verdicts.Bank, rules: verdicts.Rules,
               batch: int = JUDGE_BATCH) -> tuple[int, int]:
    """Judge every signal snippet of the model, a batch of ids at a time; (judged, RFI)."""
    last, n_judged, n_rfi = 0, 0, 0
    while True:
        rows = conn.cursor(binary=True).execute(
            verdicts.SNIPPET_SQL + " WHERE s.is_signal AND s.id > %s ORDER BY s.id LIMIT %s",
            (model_id, last, batch)).fetchall()
        if not rows:
            return n_judged, n_rfi
        queries = verdicts.snippet_queries(rows)
        n_rfi += verdicts.store(conn, build_id, queries.snippet_id, verdicts.judge(bank, queries, rules))
        n_judged += len(rows)
        last = rows[-1][0]


def _carry_labels(conn, build_id: int, previous_build: int | None) -> int:
    """Give each new class the label of the most similar labelled class of the previous build."""
    if previous_build is None:
        return 0
    result = conn.execute(
        "UPDATE rfi_classes c SET label = m.label, notes = m.notes, matched_from = m.id"
        " FROM (SELECT DISTINCT ON (n.id) n.id AS new_id, o.id, o.label, o.notes"
        "       FROM rfi_classes n JOIN rfi_classes o ON o.build_id = %(old)s AND o.label IS NOT NULL"
        "       WHERE n.build_id = %(new)s AND 1 - (n.centroid <=> o.centroid) >= %(sim)s"
        "       ORDER BY n.id, n.centroid <=> o.centroid) m"
        " WHERE c.id = m.new_id", {"old": previous_build, "new": build_id, "sim": LABEL_MATCH_SIMILARITY})
    return result.rowcount


def _class_statistics(conn, build_id: int) -> None:
    conn.execute(f"""
        WITH members AS (
            SELECT a.class_id, s.f_center_mhz, s.drift_rate_hz_s, s.width_hz, s.snr, s.observation_id
            FROM rfi_assignments a JOIN snippets s ON s.id = a.snippet_id
            WHERE a.build_id = %(b)s AND a.class_id IS NOT NULL
        ), stats AS (
            SELECT class_id, count(*) AS size, count(DISTINCT observation_id) AS n_obs,
                   count(*) FILTER (WHERE {verdicts.REFERENCE_SQL.format(obs="members.observation_id")}) AS n_reference,
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
               frequency_occupancy = h.h, n_reference = st.n_reference
        FROM stats st LEFT JOIN cadences cd ON cd.class_id = st.class_id JOIN histograms h ON h.class_id = st.class_id
        WHERE c.id = st.class_id""", {"b": build_id})


# --- using the classes ---------------------------------------------------------------------------

CLASS_COLUMNS = ["class_id", "build_id", "label", "notes", "size", "n_observations", "n_cadences",
                 "f_min_mhz", "f_max_mhz", "drift_median_hz_s", "snr_median", "radius", "exemplar_ids",
                 "drift_min_hz_s", "drift_max_hz_s", "width_median_hz", "nn_distance", "n_reference"]


def staleness(engine: Engine) -> list[str]:
    """Why the current build may no longer describe the catalogue (empty: it does)."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT b.id, b.model_id, rficat_current_model() AS current_model,"
            " (b.params->>'min_cluster_size')::int AS min_cluster_size,"
            " (SELECT count(*) FROM snippets s JOIN embeddings e ON e.snippet_id = s.id AND e.model_id = b.model_id"
            "  WHERE s.is_signal AND s.created_at > b.created_at AND NOT EXISTS"
            "  (SELECT 1 FROM rfi_assignments a WHERE a.snippet_id = s.id AND a.build_id = b.id"
            "   AND a.class_id IS NOT NULL)) AS new_unclassed"
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
