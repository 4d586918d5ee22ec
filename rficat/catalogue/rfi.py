"""The RFI database: cluster the catalogue's morphologies into classes, judge every snippet.

A build draws a random sample of the signal snippets (latent vectors of unit length, drift
rates with their errors; a Bernoulli ``TABLESAMPLE`` of the embeddings, repeatable for a seed)
and clusters it with HDBSCAN's *leaf* selection (Walmsley & Scaife): small, tight groups rather
than the few large ones that merge several morphologies. Each group is split wherever its drift
rates jump by more than their tolerance, so a class never mixes a stationary carrier with a
drifting one, and groups of one morphology and drift are merged again. Drifting groups of one
*drift mode* are then joined: one morphology at drift rates within a factor of two, of either sign
(a satellite's downlink seen approaching or receding; the leaves split such a kind by emitter),
where a group of the opposite sign is compared by its pictures mirrored in frequency, encoded
with the build's model. Last, each class is split by what its stored pictures show
(:mod:`rficat.science.measures`): its combs (evenly spaced tones), its members that are on and
off (bursts, pulse trains) and its steady ones; stationary combs are then joined into one class
whatever their spacing, and classes most of whose members chirp (their paths bend) into one
whatever their fitted drift. The vectors place two combs of different spacing farther apart than a
comb and a single line, and a pulse train close to a steady line of its width. A class keeps its
own scale (how close its members are to each other), not a radius that decides membership.

Rare morphologies: a class of 20 members among 10^6 has about one member in a 50,000 sample,
too few to be seen. So one pass over the catalogue's vectors finds the snippets the sample did
not *cover* (fewer lookalikes in it than the minimum cluster size: too few for a class of the
first pass), a second sample is drawn from
those only, and it is clustered the same way; classes of both passes are merged where they are
one morphology and drift. Memory stays bounded by the two samples and one batch.

The build then keeps a bounded *bank* (up to ``BANK_PER_CLASS`` members of each class and the
samples' other snippets of reference observations) and judges every signal snippet against it
(``rficat.catalogue.verdicts``): RFI needs drift-consistent lookalikes seen where no target's
signal can be. The build is stored first, unfinished (``status`` building), with its classes
and bank; the catalogue is judged in batches of snippet ids, each its own transaction that also
records the resume point; the build becomes current only in a last short transaction. A killed
build is never current: the next build with the same parameters resumes it, one with other
parameters discards it. The previous build is then retired and its verdicts purged in batches
(its classes and labels stay). Labels move to a new build's class when its centroid matches an
old labelled one (cosine similarity >= 0.9).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Engine

from rficat.catalogue import models, search, verdicts
from rficat.errors import RficatError
from rficat.science import measures
from rficat.store import db

log = logging.getLogger(__name__)

EXEMPLARS = 12
LABEL_MATCH_SIMILARITY = 0.9
RADIUS_QUANTILE = 0.98
MIN_SAMPLES = 3  # HDBSCAN's density smoothing: small, so leaves stay tight
MERGE_SIMILARITY = 0.97  # leaf groups whose centroids are this alike (and drift alike) are one class
MODE_SIMILARITY = 0.9  # drifting classes of one drift mode join at this centroid similarity ...
MODE_RATIO = 2.0  # ... one drift mode: their drift rates, of either sign, within this factor of each other
MIRROR_MEMBERS = 64  # members of a drifting class whose pictures are encoded mirrored in frequency
PICTURE_BATCH = 5_000  # stored pictures read at a time when classes are split by what they show
CHIRP_SHARE = 0.5  # a class at least this share of whose members chirp (measures.CHIRPING) is a chirp class
NN_QUANTILE = 0.95  # a class's own scale: this quantile of its members' nearest-member distances
BANK_PER_CLASS = 500  # members of each class kept for verdicts (a bounded, in-memory sample)
JUDGE_BATCH = 50_000  # snippets read, judged and committed at a time by a build
PURGE_BATCH = 200_000  # snippet ids whose verdicts of a retired build are deleted at a time
BUILD_JOBS = -1  # threads of the k-d tree queries of a build (all cores; they release the GIL)
BUILD_LOCK = 7_236_982  # pg advisory lock key: one rfi build at a time per catalogue
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
    resumed: bool = False  # True: an interrupted build with the same parameters was completed

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
    scan_s: np.ndarray  # its observation's scan length, s
    channel_mhz: np.ndarray  # its observation's channel width, MHz


def check_catalogue(engine: Engine, model_id: int) -> None:
    """Explain, in one line, what a catalogue lacks for verdicts (no signals; one observation; no
    OFF scan or observation outside an ON role to take evidence from). Asks each observation
    whether it has a signal with a vector (an index probe each), never counts the catalogue."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "WITH obs AS (SELECT o.id FROM observations o WHERE EXISTS (SELECT 1 FROM snippets s JOIN embeddings e"
            " ON e.snippet_id = s.id AND e.model_id = :m WHERE s.observation_id = o.id AND s.is_signal))"
            " SELECT count(*) AS n_obs, count(*) FILTER (WHERE " + verdicts.REFERENCE_SQL.format(obs="obs.id") +
            ") AS n_reference FROM obs"), {"m": model_id}).mappings().one()
    if row["n_obs"] == 0:
        raise RficatError("the catalogue has no signal snippets with vectors to build RFI classes from; ingest first")
    if row["n_obs"] < 2:
        raise RficatError("the catalogue has signals from 1 observation only: RFI verdicts need lookalikes seen in "
                          "other observations (OFF scans or observations outside any cadence's ON role); ingest more")
    if row["n_reference"] == 0:
        raise RficatError("every observation is an ON scan: RFI verdicts need OFF scans or observations outside any "
                          "cadence's ON role to take evidence from; ingest or add some")


SAMPLE_SQL = (
    "SELECT s.id, e.latent, s.drift_rate_hz_s, s.drift_error_hz_s, s.snr, s.observation_id, s.f_center_mhz, "
    + verdicts.FLOOR_SQL + ", " + verdicts.REFERENCE_SQL.format(obs="s.observation_id") +
    ", o.tsamp_s * o.n_integrations, abs(o.foff_mhz)"
    " FROM embeddings e {tablesample} JOIN snippets s ON s.id = e.snippet_id"
    " JOIN observations o ON o.id = s.observation_id WHERE e.model_id = %s AND s.is_signal")


def _sample_from_rows(rows) -> Sample:
    c = list(zip(*rows))
    z = verdicts.vectors(c[1])

    def f(values):
        return np.array(values, dtype=np.float64)  # None becomes NaN

    return Sample(np.array(c[0], dtype=np.int64), z / np.clip(np.linalg.norm(z, axis=1, keepdims=True), 1e-12, None),
                  f(c[2]), f(c[3]), f(c[4]), np.array(c[5], dtype=np.int64), f(c[6]), f(c[7]), np.array(c[8], bool),
                  f(c[9]), f(c[10]))


def _subset(sample: Sample, index: np.ndarray) -> Sample:
    return Sample(*(getattr(sample, name)[index] for name in Sample.__dataclass_fields__))


def _concat(a: Sample, b: Sample) -> Sample:
    return Sample(*(np.concatenate([getattr(a, n), getattr(b, n)]) for n in Sample.__dataclass_fields__))


def sample_snippets(engine: Engine, model_id: int, n: int, seed: int) -> Sample:
    """Up to n random signal snippets of the model's vectors: a Bernoulli ``TABLESAMPLE`` of the
    embeddings (every row with the same chance, repeatable for a seed; never a sort of the
    catalogue), its share from the planner's row estimate, widened and drawn again while it
    yields fewer than n; then n of them drawn with the seed."""
    with db.raw_connection(engine) as conn:
        rows = db.bernoulli_rows(conn, SAMPLE_SQL, (model_id,), "embeddings", n, seed)
    if not rows:
        raise RficatError("the catalogue has no signal snippets with vectors to build RFI classes from; ingest first")
    return _sample_from_rows(db.draw(rows, n, seed))


def fetch_snippets(engine: Engine, model_id: int, ids: np.ndarray) -> Sample:
    """The snippets of these ids (signals with the model's vectors), as a Sample in id order."""
    rows = []
    with db.raw_connection(engine) as conn:
        for start in range(0, len(ids), JUDGE_BATCH):
            rows += conn.cursor(binary=True).execute(
                SAMPLE_SQL.format(tablesample="") + " AND s.id = ANY(%s) ORDER BY s.id",
                (model_id, [int(i) for i in ids[start:start + JUDGE_BATCH]])).fetchall()
    return _sample_from_rows(rows)


def _batches(conn, sql: str, params: tuple, after: int, batch: int):
    """Rows of ``sql`` (which selects ``s.id`` first, joins ``embeddings e`` on it and ends in a
    WHERE clause), keyset-paged by snippet id after ``after``, a batch at a time (each read is its
    own short statement; both tables' keys are bounded, so each batch starts where the last ended)."""
    while True:
        rows = conn.cursor(binary=True).execute(sql + " AND s.id > %s AND e.snippet_id > %s ORDER BY s.id LIMIT %s",
                                                (*params, after, after, batch)).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def uncovered_sample(engine: Engine, model_id: int, first: Sample, n: int, seed: int, similarity: float,
                     cover: int, batch: int = JUDGE_BATCH) -> tuple[np.ndarray, int]:
    """Ids of up to n signal snippets, drawn uniformly (with the seed) from those the first sample
    did not cover, and how many were not covered.

    A snippet is covered when at least ``cover`` snippets of the first sample (other than itself)
    are lookalikes of it (cosine similarity >= ``similarity``): its morphology was seen often
    enough there to form a class if it is one (the build asks for its minimum cluster size). A morphology of m members among N is
    expected to have m x sample / N members in the sample, so a class of 20 among 10^6 is rarely
    covered by a 50,000 sample and lands here. One pass over the catalogue's vectors, a batch at
    a time; memory: the first sample's k-d tree and n ids with their random keys (bottom-k
    sampling)."""
    from sklearn.neighbors import NearestNeighbors

    tree = NearestNeighbors(algorithm="kd_tree", n_jobs=BUILD_JOBS).fit(first.z)
    k = min(cover + 1, len(first.ids))
    rng = np.random.default_rng(seed + 1)
    kept_ids, kept_keys, n_uncovered = np.empty(0, np.int64), np.empty(0), 0
    sql = ("SELECT s.id, e.latent::real[] FROM embeddings e JOIN snippets s ON s.id = e.snippet_id"
           " WHERE e.model_id = %s AND s.is_signal AND s.drift_rate_hz_s IS NOT NULL")
    with db.raw_connection(engine) as conn:
        conn.autocommit = True  # each batch its own snapshot: no transaction open for the whole pass
        for rows in _batches(conn, sql, (model_id,), 0, batch):
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            z = np.array([r[1] for r in rows], dtype=np.float64)
            z /= np.clip(np.linalg.norm(z, axis=1, keepdims=True), 1e-12, None)
            euclidean, index = tree.kneighbors(z, n_neighbors=k)
            lookalikes = ((1.0 - euclidean**2 / 2 >= similarity) & (first.ids[index] != ids[:, None])).sum(axis=1)
            uncovered = ids[lookalikes < cover]
            n_uncovered += len(uncovered)
            kept_ids = np.concatenate([kept_ids, uncovered])
            kept_keys = np.concatenate([kept_keys, rng.random(len(uncovered))])
            if len(kept_ids) > n:
                smallest = np.argpartition(kept_keys, n)[:n]
                kept_ids, kept_keys = kept_ids[smallest], kept_keys[smallest]
    return np.sort(kept_ids), n_uncovered


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


def _group_drifts(groups: list[np.ndarray], drift: np.ndarray, tolerance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each group's median drift rate and median drift tolerance."""
    return (np.array([np.median(drift[g]) for g in groups]), np.array([np.median(tolerance[g]) for g in groups]))


def _labels_of(groups: list[np.ndarray], n: int) -> np.ndarray:
    """Class labels of n snippets from groups of their indices, largest class first (-1: none)."""
    out = np.full(n, -1)
    for k, g in enumerate(sorted(groups, key=len, reverse=True)):
        out[g] = k
    return out


def merge_groups(groups: list[np.ndarray], z: np.ndarray, drift: np.ndarray, tolerance: np.ndarray,
                 similarity: float) -> list[np.ndarray]:
    """Join leaf groups of one morphology and drift (centroid cosine >= similarity, median drifts
    within twice the larger group tolerance): leaves often split one emitter kind by emitter.

    Greedy, in list order: the first joinable pair (a, b) is joined into a, then the next, with
    the joined group's centroid and drift recomputed each time. Only the joined group's row of the
    pair matrix is recomputed after a join, so thousands of leaves cost seconds, not hours."""
    groups = list(groups)
    n = len(groups)
    if n < 2:
        return groups
    centroids = np.array([_unit_mean(z[g]) for g in groups])
    medians, tols = _group_drifts(groups, drift, tolerance)
    active = np.ones(n, bool)

    def joinable(a: int) -> np.ndarray:
        """Row a of the pair matrix: which groups could join group a."""
        row = ((centroids @ centroids[a] >= similarity)
               & (np.abs(medians - medians[a]) <= 2 * np.maximum(tols, tols[a])) & active)
        row[a] = False
        return row

    pairs = np.zeros((n, n), bool)
    for a in range(n):
        pairs[a] = joinable(a)
    pairs = np.triu(pairs, 1)
    while True:
        rows = np.flatnonzero(pairs.any(axis=1))
        if not len(rows):
            break
        a = rows[0]
        b = np.flatnonzero(pairs[a])[0]
        groups[a] = np.concatenate([groups[a], groups[b]])
        groups[b] = np.empty(0, np.int64)
        active[b] = False
        pairs[b, :] = pairs[:, b] = False
        centroids[a], medians[a], tols[a] = _unit_mean(z[groups[a]]), np.median(drift[groups[a]]), \
            np.median(tolerance[groups[a]])
        row = joinable(a)
        pairs[a, a + 1:] = row[a + 1:]
        pairs[:a, a] = row[:a]
    return [g for g, keep in zip(groups, active) if keep]


def join_drift_modes(groups: list[np.ndarray], z: np.ndarray, mirrored: np.ndarray, drift: np.ndarray,
                     tolerance: np.ndarray) -> list[np.ndarray]:
    """Join drifting groups of one morphology and one drift mode: median drift rates beyond their
    tolerance of zero, within :data:`MODE_RATIO` of each other (the joined group's fastest over its
    slowest), and centroid cosine >= :data:`MODE_SIMILARITY`; a group of the opposite sign is
    compared by ``mirrored`` (each group's unit mean latent of its pictures mirrored in frequency,
    which drift the other way). Stationary groups are left as :func:`merge_groups` made them.
    Most similar pairs first; two groups are joined only when every pair of the groups joined
    into them is that similar (complete linkage: a chain of kinds never joins) and stays one mode."""
    if len(groups) < 2:
        return list(groups)
    median, tol = _group_drifts(groups, drift, tolerance)
    centroids = np.array([_unit_mean(z[g]) for g in groups])
    mirror = mirrored @ centroids.T
    opposite = np.sign(median)[:, None] != np.sign(median)[None, :]
    similarity = np.where(opposite, np.maximum(mirror, mirror.T), centroids @ centroids.T)
    drifting = np.abs(median) > tol
    a, b = np.nonzero(np.triu(similarity >= MODE_SIMILARITY, 1) & drifting[:, None] & drifting[None, :])
    root = np.arange(len(groups))
    slowest, fastest = np.abs(median), np.abs(median)
    for i in np.argsort(-similarity[a, b], kind="stable"):
        ra, rb = root[a[i]], root[b[i]]
        if (ra == rb or max(fastest[ra], fastest[rb]) > MODE_RATIO * min(slowest[ra], slowest[rb])
                or similarity[np.ix_(root == ra, root == rb)].min() < MODE_SIMILARITY):
            continue
        root[root == rb] = ra
        slowest[ra], fastest[ra] = min(slowest[ra], slowest[rb]), max(fastest[ra], fastest[rb])
    return [np.concatenate([groups[j] for j in np.flatnonzero(root == r)]) for r in np.unique(root)]


def join_combs(groups: list[np.ndarray], drift: np.ndarray, tolerance: np.ndarray,
               comb: np.ndarray) -> list[np.ndarray]:
    """Stationary groups that are combs (``comb``: one flag per group) joined into one: a comb is
    one morphology whatever its tone spacing, which the vectors see first. Drifting groups and
    other stationary ones are left as they were."""
    median, tol = _group_drifts(groups, drift, tolerance)
    return _join_flagged(groups, np.asarray(comb, bool) & (np.abs(median) <= tol))


def _join_flagged(groups: list[np.ndarray], flagged: np.ndarray) -> list[np.ndarray]:
    """The groups not ``flagged``, then the flagged ones joined into one (as they were if fewer than two)."""
    if flagged.sum() < 2:
        return list(groups)
    return [g for g, f in zip(groups, flagged) if not f] + [np.concatenate([g for g, f in zip(groups, flagged) if f])]


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
    return _labels_of(groups, len(z))


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
                         {i: c["nn_distance"] for i, c in enumerate(classes)}, f_center_mhz=drawn.f_center_mhz[rows],
                         scan_s=drawn.scan_s[rows], channel_mhz=drawn.channel_mhz[rows])
    member = np.full(len(drawn.ids), -1)
    for start in range(0, len(drawn.ids), JUDGE_BATCH):
        part = slice(start, start + JUDGE_BATCH)
        member[part] = verdicts.classes_of(bank, verdicts.Queries(
            drawn.z[part], drawn.drift[part], drawn.floor[part], drawn.drift_error[part], drawn.snr[part],
            drawn.observation_id[part], drawn.ids[part], drawn.f_center_mhz[part]), rules)
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


def find_all_classes(engine: Engine, model_id: int, drawn: Sample, sample: int, min_cluster_size: int, seed: int,
                     rules: verdicts.Rules, rare_sample: int,
                     stage: Callable[[str], None]) -> tuple[Sample, np.ndarray, np.ndarray, dict]:
    """Classes of the first (uniform) sample and, when ``rare_sample`` > 0, of a second sample drawn
    from the snippets the first did not cover (rare morphologies: too few members to be seen in a
    uniform sample), both by the same leaf-HDBSCAN + drift split and local-density check; classes
    of both passes merged where they are one morphology and drift. No second pass when the first
    sample is the whole catalogue (it missed nothing). Returns the combined sample,
    its labels, its drift tolerances and what the second pass saw."""
    keep = max(3, min_cluster_size // 2)
    tolerance = verdicts.tolerance(drawn.drift_error, drawn.floor, rules)
    log.info("clustering %d snippets (min cluster size %d)", len(drawn.ids), min_cluster_size)
    stage(f"clustering {len(drawn.ids)} snippets (HDBSCAN, leaf)")
    labels = find_classes(drawn.z, drawn.drift, tolerance, min_cluster_size)
    labels = _keep_classes_that_hold(drawn, labels, tolerance, rules, keep, seed)
    info = {"rare_sample": rare_sample, "n_uncovered": None, "n_rare_sampled": 0, "n_rare_classes": 0}
    if rare_sample <= 0:
        return drawn, labels, tolerance, info
    if len(drawn.ids) < sample:  # the sample is the whole catalogue: nothing was missed by sampling
        info["n_uncovered"] = 0
        return drawn, labels, tolerance, info
    stage(f"finding the snippets with fewer than {min_cluster_size} lookalikes in the sample (one pass over the "
          "vectors)")
    ids, info["n_uncovered"] = uncovered_sample(engine, model_id, drawn, rare_sample, seed, rules.similarity,
                                                min_cluster_size)
    log.info("%d signal snippets have fewer than %d lookalikes in the sample; clustering %d of them",
             info["n_uncovered"], min_cluster_size, len(ids))
    if len(ids) < max(2, min_cluster_size):
        return drawn, labels, tolerance, info
    stage(f"clustering {len(ids)} snippets the first sample did not cover (HDBSCAN, leaf)")
    second = fetch_snippets(engine, model_id, ids)
    second_tolerance = verdicts.tolerance(second.drift_error, second.floor, rules)
    second_labels = find_classes(second.z, second.drift, second_tolerance, min_cluster_size)
    second_labels = _keep_classes_that_hold(second, second_labels, second_tolerance, rules, keep, seed + 1)
    info["n_rare_sampled"] = len(second.ids)
    new = ~np.isin(second.ids, drawn.ids)  # a first-sample snippet keeps its first-pass label
    combined = _concat(drawn, _subset(second, np.flatnonzero(new)))
    offset = labels.max() + 1
    combined_labels = np.concatenate([labels, np.where(second_labels[new] >= 0, second_labels[new] + offset, -1)])
    combined_tolerance = np.concatenate([tolerance, second_tolerance[new]])
    groups = [np.flatnonzero(combined_labels == k) for k in range(combined_labels.max() + 1)]
    groups = merge_groups([g for g in groups if len(g)], combined.z, combined.drift, combined_tolerance,
                          MERGE_SIMILARITY)
    out = _labels_of(groups, len(combined.ids))
    info["n_rare_classes"] = int(out.max() + 1 - (labels.max() + 1))
    return combined, out, combined_tolerance, info


@contextlib.contextmanager
def _build_lock(engine: Engine):
    """One `rfi build` at a time per catalogue: a session advisory lock, released when the
    process ends however it ends (so a killed build's lock never lingers)."""
    with db.raw_connection(engine) as conn:
        conn.autocommit = True
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (BUILD_LOCK,)).fetchone()[0]:
            raise RficatError("another `rficat rfi build` is running on this catalogue; wait for it to finish")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (BUILD_LOCK,))


def purge_assignments(engine: Engine, build_id: int, batch: int = PURGE_BATCH) -> int:
    """Delete a build's verdicts a range of snippet ids at a time (each range its own short
    transaction, through the primary key); returns how many."""
    total = 0
    with db.raw_connection(engine) as conn:
        low, high = conn.execute("SELECT min(id), max(id) FROM snippets").fetchone()
        if low is None:
            return 0
        for start in range(low, high + 1, batch):
            total += conn.execute("DELETE FROM rfi_assignments WHERE build_id = %s AND snippet_id >= %s"
                                  " AND snippet_id < %s", (build_id, start, start + batch)).rowcount
            conn.commit()
    return total


def purge_retired(engine: Engine) -> int:
    """Purge the verdicts of every retired build (its classes and labels stay); returns how many."""
    with engine.connect() as conn:
        retired = conn.execute(sa.text(
            "SELECT b.id FROM rfi_builds b WHERE b.status = 'retired' AND EXISTS"
            " (SELECT 1 FROM rfi_assignments a WHERE a.build_id = b.id) ORDER BY b.id")).scalars().all()
    total = 0
    for build_id in retired:
        n = purge_assignments(engine, build_id)
        log.info("purged %d verdicts of retired RFI build %d", n, build_id)
        total += n
    return total


def _unfinished(engine: Engine, request: dict, resume: bool) -> tuple[int | None, float]:
    """The unfinished build to resume (the newest with the same request), if any and if asked,
    and the seconds it already took; every other unfinished build is discarded (its verdicts
    purged in batches, then the build, its classes and bank deleted)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT id, params->'request' = CAST(:r AS jsonb) AS same, coalesce(seconds, 0) FROM rfi_builds"
            " WHERE status = 'building' ORDER BY id DESC"), {"r": json.dumps(request)}).all()
    keep, seconds = None, 0.0
    for build_id, same, spent in rows:
        if resume and same and keep is None:
            keep, seconds = build_id, spent
            continue
        log.warning("discarding unfinished RFI build %d%s", build_id,
                    "" if same else " (other parameters than this build's)")
        purge_assignments(engine, build_id)
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM rfi_builds WHERE id = :b AND status = 'building'"), {"b": build_id})
    return keep, seconds


def build(engine: Engine, model_id: int | None = None, min_cluster_size: int = 10, sample: int = 50_000,
          seed: int = 0, stage: Callable[[str], None] = lambda description: None,
          rules: verdicts.Rules | None = None, rare_sample: int | None = None, resume: bool = True,
          batch: int = JUDGE_BATCH, models_dir: Path | None = None) -> BuildSummary:
    """Cluster a sample (and what it missed), keep its classes and bank, judge every signal
    snippet in batches, make the build current.

    ``stage`` is told each step as it starts (the CLI shows it; at 10^7 snippets a build takes
    tens of minutes). The build is stored first, unfinished, with its classes and bank; each
    batch of ``batch`` snippets is judged and committed on its own; the build becomes current
    only in the last, short transaction, and the previous one is then retired and its verdicts
    purged. An interrupted build is resumed by the next build with the same parameters (unless
    ``resume`` is False) and discarded by one with others; it is never current.
    ``rare_sample`` (default: ``sample``; 0: off) is the size of the second pass's sample.
    ``models_dir``: where the model's weights are looked for when they are not the shipped model's
    (drifting classes are compared mirrored in frequency, which needs the encoder).
    """
    if min_cluster_size < 2:
        raise RficatError(f"min_cluster_size must be at least 2 (a class of one snippet is no class), "
                          f"got {min_cluster_size}")
    if sample < 1:
        raise RficatError(f"sample must be at least 1 snippet, got {sample}")
    rare_sample = sample if rare_sample is None else rare_sample
    if rare_sample < 0:
        raise RficatError(f"rare_sample must be 0 (no second pass) or more, got {rare_sample}")
    started = time.perf_counter()
    rules = rules or verdicts.Rules()
    model_id = models.require_current_model(engine) if model_id is None else model_id
    request = {"model_id": model_id, "min_cluster_size": min_cluster_size, "sample": sample, "seed": seed,
               "rare_sample": rare_sample, "verdict": rules.to_dict()}
    with _build_lock(engine):
        check_catalogue(engine, model_id)
        build_id, spent = _unfinished(engine, request, resume)
        resumed = build_id is not None
        if resumed:
            stage(f"resuming unfinished build {build_id}")
            log.info("resuming unfinished RFI build %d", build_id)
        else:
            build_id = _new_build(engine, model_id, request, min_cluster_size, sample, seed, rules, rare_sample, stage,
                                  models_dir)
        with db.raw_connection(engine) as conn:
            row = conn.execute("SELECT n_sampled, n_classes FROM rfi_builds WHERE id = %s", (build_id,)).fetchone()
            bank = verdicts.load_bank(conn, build_id)
            bank.n_jobs = BUILD_JOBS
            stage(f"judging every signal snippet against {len(bank)} banked lookalikes and {row[1]} classes")
            _judge_batches(conn, build_id, model_id, bank, rules, batch, stage)
            stage("class statistics")
            _class_statistics(conn, build_id)
            previous = conn.execute("SELECT id FROM rfi_builds WHERE is_current").fetchone()
            carried = _carry_labels(conn, build_id, previous[0] if previous else None)
            left = [r[0] for r in conn.execute(
                "SELECT o.label FROM rfi_classes o WHERE o.build_id = %s AND o.label IS NOT NULL AND NOT EXISTS"
                " (SELECT 1 FROM rfi_classes n WHERE n.build_id = %s AND n.matched_from = o.id) ORDER BY o.id",
                (previous[0] if previous else -1, build_id)).fetchall()]
            for label in left:  # never silently: the label stays on the old build's class
                log.warning("label %r matched no class of the new build; it stays on build %d", label, previous[0])
            seconds = spent + time.perf_counter() - started
            # the last step: only a complete build ever becomes current
            conn.execute("UPDATE rfi_builds SET is_current = false, status = 'retired' WHERE is_current")
            n_judged, n_rfi = conn.execute(
                "UPDATE rfi_builds SET seconds = %s, is_current = true, status = 'complete' WHERE id = %s"
                " RETURNING n_judged, n_assigned", (seconds, build_id)).fetchone()
            conn.commit()
        if previous:
            stage(f"purging the verdicts of retired build {previous[0]}")
        purge_retired(engine)
    return BuildSummary(build_id, model_id, row[0], row[1], n_rfi, carried, round(seconds, 2), left, n_judged,
                        resumed)


def join_modes_of(engine: Engine, model_id: int, models_dir: Path | None, sample: Sample, labels: np.ndarray,
                  tolerance: np.ndarray, seed: int) -> tuple[np.ndarray, int]:
    """Labels after :func:`join_drift_modes` (renumbered, largest class first) and how many classes
    it joined into others. Up to :data:`MIRROR_MEMBERS` stored pictures of each drifting class are
    mirrored in frequency and encoded with the model (loaded only when two classes drift); where the
    model's weights are not on this machine, classes join only others of their own sign (a warning
    says so)."""
    groups = [np.flatnonzero(labels == k) for k in range(labels.max() + 1)]
    median, tol = _group_drifts(groups, sample.drift, tolerance)
    drifting = np.flatnonzero(np.abs(median) > tol)
    if len(drifting) < 2:
        return labels, 0
    mirrored = np.zeros((len(groups), sample.z.shape[1]))  # similarity 0: no join across sign
    try:
        encoder = models.encoder_for(engine, models_dir, model_id)[1]
    except RficatError as exc:
        log.warning("drifting RFI classes join only classes of their own sign: %s", exc)
    else:
        rng = np.random.default_rng(seed)
        picked = {k: np.sort(rng.choice(groups[k], min(len(groups[k]), MIRROR_MEMBERS), replace=False))
                  for k in drifting}
        pictures = search.match_snippets(engine, sample.ids[np.concatenate(list(picked.values()))])
        latent = encoder.encode(np.ascontiguousarray(pictures[:, :, ::-1])).astype(np.float64)
        latent /= np.clip(np.linalg.norm(latent, axis=1, keepdims=True), 1e-12, None)
        bounds = np.cumsum([0] + [len(p) for p in picked.values()])
        for k, start, stop in zip(picked, bounds[:-1], bounds[1:]):
            mirrored[k] = _unit_mean(latent[start:stop])
    joined = join_drift_modes(groups, sample.z, mirrored, sample.drift, tolerance)
    out = _labels_of(joined, len(labels))
    if len(joined) < len(groups):
        log.info("%d drifting classes joined others of their drift mode", len(groups) - len(joined))
    return out, len(groups) - len(joined)


def picture_measures(engine: Engine, ids: np.ndarray, batch: int = PICTURE_BATCH
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whether each snippet's stored picture is a comb, whether it is on and off (intensity
    modulation above :data:`~rficat.science.measures.MODULATED`) and whether its path bends (above
    :data:`~rficat.science.measures.CHIRPING`); read ``batch`` pictures at a time."""
    comb, modulated, chirp = (np.zeros(len(ids), bool) for _ in range(3))
    for start in range(0, len(ids), batch):
        pictures = search.match_snippets(engine, ids[start:start + batch])
        comb[start:start + batch] = measures.is_comb(pictures)
        modulation, bending = measures.modulation_and_chirping(pictures)
        modulated[start:start + batch] = modulation > measures.MODULATED
        chirp[start:start + batch] = bending > measures.CHIRPING
    return comb, modulated, chirp


def split_by_pictures(groups: list[np.ndarray], comb: np.ndarray, modulated: np.ndarray, drift: np.ndarray,
                      tolerance: np.ndarray, keep: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Each group split into its combs (stationary groups only: a drifting comb's tones smear in the
    time collapse), its other members that are on and off, and its steady ones (``comb`` and
    ``modulated``: one flag per snippet); parts smaller than ``keep`` are left out of any class
    (a group none of whose parts is that large stays whole). Returns the parts and which are combs."""
    median, tol = _group_drifts(groups, drift, tolerance)
    parts, is_comb = [], []
    for g, stationary in zip(groups, np.abs(median) <= tol):
        c = comb[g] & stationary
        split = [(g[c], True), (g[~c & modulated[g]], False), (g[~c & ~modulated[g]], False)]
        split = [(p, flag) for p, flag in split if len(p) >= keep] or [(g, bool(c.mean() >= 0.5))]
        parts += [p for p, _ in split]
        is_comb += [flag for _, flag in split]
    return parts, np.array(is_comb, bool)


def join_chirps(groups: list[np.ndarray], chirp: np.ndarray) -> list[np.ndarray]:
    """Groups at least :data:`CHIRP_SHARE` of whose members chirp (``chirp``: one flag per snippet)
    joined into one: a chirp is one morphology wherever in its sweep a scan caught it (its fitted
    drift, 0.1 or 0.37 Hz/s, up or down, is not its drift mode). Other groups are left as they were."""
    return _join_flagged(groups, np.array([chirp[g].mean() >= CHIRP_SHARE for g in groups], bool))


def classes_by_pictures(engine: Engine, sample: Sample, labels: np.ndarray, tolerance: np.ndarray,
                        keep: int) -> tuple[np.ndarray, dict]:
    """Labels after :func:`split_by_pictures`, :func:`join_combs` and :func:`join_chirps` (renumbered,
    largest class first), with how many classes were split and joined: the vectors see a comb's
    spacing before its being a comb, a pulse train or burst close to a steady line of its width, and
    a chirp's drift where it was caught before its bending."""
    groups = [np.flatnonzero(labels == k) for k in range(labels.max() + 1)]
    if not groups:
        return labels, {"n_picture_splits": 0, "n_comb_joins": 0, "n_chirp_joins": 0}
    members = np.concatenate(groups)
    comb, modulated, chirp = (np.zeros(len(labels), bool) for _ in range(3))
    comb[members], modulated[members], chirp[members] = picture_measures(engine, sample.ids[members])
    parts, part_is_comb = split_by_pictures(groups, comb, modulated, sample.drift, tolerance, keep)
    joined = join_combs(parts, sample.drift, tolerance, part_is_comb)
    chirps_joined = join_chirps(joined, chirp)
    info = {"n_picture_splits": len(parts) - len(groups), "n_comb_joins": len(parts) - len(joined),
            "n_chirp_joins": len(joined) - len(chirps_joined)}
    log.info("classes split by their pictures (combs, on and off, steady): %d more; %d comb classes and %d chirp "
             "classes joined", info["n_picture_splits"], info["n_comb_joins"], info["n_chirp_joins"])
    return _labels_of(chirps_joined, len(labels)), info


def _new_build(engine: Engine, model_id: int, request: dict, min_cluster_size: int, sample: int, seed: int,
               rules: verdicts.Rules, rare_sample: int, stage: Callable[[str], None], models_dir: Path | None) -> int:
    """Sample, cluster, and store an unfinished build with its classes and bank (one transaction)."""
    stage(f"sampling up to {sample} snippets")
    drawn = sample_snippets(engine, model_id, sample, seed)
    combined, labels, tolerance, info = find_all_classes(engine, model_id, drawn, sample, min_cluster_size, seed,
                                                         rules, rare_sample, stage)
    labels, info["n_mode_joins"] = join_modes_of(engine, model_id, models_dir, combined, labels, tolerance, seed)
    labels, picture_info = classes_by_pictures(engine, combined, labels, tolerance, max(3, min_cluster_size // 2))
    info.update(picture_info)
    classes, bank_rows, bank_class = _classes_and_bank(combined, labels, tolerance, np.random.default_rng(seed))
    if not classes:
        log.warning("no class of at least %d lookalike snippets among %d: verdicts rest on lookalikes alone",
                    min_cluster_size, len(combined.ids))
    params = {"min_cluster_size": min_cluster_size, "sample": sample, "seed": seed, "method": "hdbscan-leaf",
              "min_samples": MIN_SAMPLES, "merge_similarity": MERGE_SIMILARITY, "nn_quantile": NN_QUANTILE,
              "mode_similarity": MODE_SIMILARITY, "mode_ratio": MODE_RATIO,
              "modulated": measures.MODULATED, "chirping": measures.CHIRPING, "chirp_share": CHIRP_SHARE,
              "bank_per_class": BANK_PER_CLASS, "radius_quantile": RADIUS_QUANTILE,
              "sampling": "tablesample bernoulli", **info,
              "tolerance_floor_hz_s": float(np.nanmedian(drawn.floor)) if np.isfinite(drawn.floor).any() else None,
              "verdict": rules.to_dict(), "request": request}
    with db.raw_connection(engine) as conn:
        build_id = conn.execute(
            "INSERT INTO rfi_builds (model_id, params, n_sampled, n_classes, status) VALUES (%s, %s, %s, %s, 'building')"
            " RETURNING id", (model_id, Jsonb(params), len(combined.ids), len(classes))).fetchone()[0]
        for c in classes:
            c["id"] = conn.execute(
                "INSERT INTO rfi_classes (build_id, centroid, radius, nn_distance, drift_min_hz_s, drift_max_hz_s,"
                " exemplar_ids) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (build_id, c["centroid"].astype(np.float32), c["radius"], c["nn_distance"], c["drift_min"],
                 c["drift_max"], c["exemplars"])).fetchone()[0]
        class_ids = np.array([c["id"] for c in classes] + [-1], dtype=np.int64)[bank_class]
        _store_bank(conn, build_id, combined, bank_rows, class_ids)
        conn.commit()
    return build_id


def _store_bank(conn, build_id: int, drawn: Sample, rows: np.ndarray, class_ids: np.ndarray) -> None:
    with conn.cursor().copy("COPY rfi_bank (build_id, snippet_id, class_id, observation_id, f_center_mhz,"
                            " drift_rate_hz_s, drift_error_hz_s, latent) FROM STDIN") as copy:
        for i, c in zip(rows, class_ids):
            copy.write_row((build_id, int(drawn.ids[i]), None if c < 0 else int(c), int(drawn.observation_id[i]),
                            float(drawn.f_center_mhz[i]), _or_none(drawn.drift[i]), _or_none(drawn.drift_error[i]),
                            drawn.z[i].astype(np.float32)))


def _or_none(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def _judge_batches(conn, build_id: int, model_id: int, bank: verdicts.Bank, rules: verdicts.Rules, batch: int,
                   stage: Callable[[str], None]) -> None:
    """Judge every signal snippet after the build's resume point, a batch of ids at a time, each
    batch committed with the new resume point (so a killed build loses at most one batch)."""
    after = conn.execute("SELECT coalesce(judged_through, 0) FROM rfi_builds WHERE id = %s", (build_id,)).fetchone()[0]
    conn.commit()
    for rows in _batches(conn, verdicts.SNIPPET_SQL + " WHERE s.is_signal", (model_id,), after, batch):
        queries = verdicts.snippet_queries(rows)
        n_rfi = verdicts.store(conn, build_id, queries.snippet_id, verdicts.judge(bank, queries, rules))
        judged = conn.execute(
            "UPDATE rfi_builds SET judged_through = %s, n_judged = n_judged + %s, n_assigned = n_assigned + %s"
            " WHERE id = %s AND status = 'building' RETURNING n_judged", (rows[-1][0], len(rows), n_rfi, build_id))
        n_judged = judged.fetchone()[0]
        conn.commit()
        stage(f"judged {n_judged} signal snippets (through id {rows[-1][0]})")


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
