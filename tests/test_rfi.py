"""The RFI database: builds, classes, labels across rebuilds, verdicts at ingest.

Two observations outside any cadence (so both are reference observations: each one's signals
are evidence for the other's), three kinds of emitter each, the same emitters at the same
frequencies in each.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest
import sqlalchemy as sa

from rficat.catalogue import ingest, models, rfi
from rficat.cli import main
from rficat.store import db
from rficat.synthetic import synth

KINDS = {
    "stationary": dict(drift_hz_s=0.0, width_hz=25.0),
    "drifting": dict(drift_hz_s=1.6, width_hz=25.0),
    "intermittent": dict(drift_hz_s=0.0, width_hz=25.0, t_profile="intermittent", period_s=120),
}


def _observation(path, seed: int, per_kind: int = 14):
    spec = synth.ObservationSpec(n_coarse_channels=4, seed=seed)
    rng = np.random.default_rng(seed)
    # the same emitters in every observation, at their usual frequencies (a drifting one's lookalikes
    # count only there): the slots are drawn alike for every file
    slots = synth.random_signals(spec, per_kind * len(KINDS), np.random.default_rng(4), drift=(0, 0),
                                 min_separation=3000)
    signals = [replace(slot, snr=float(rng.uniform(40, 70)), label=kind,
                       f_start_mhz=slot.f_start_mhz - fields["drift_hz_s"] * spec.obs_length_s / 2e6,
                       **fields)
               for slot, (kind, fields) in zip(slots, [k for k in KINDS.items() for _ in range(per_kind)])]
    return path, synth.write_observation(path, spec, signals)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("rfi")
    return [_observation(directory / f"obs{i}.h5", 40 + i) for i in range(3)]


@pytest.fixture
def rfi_db(fresh_db_url, files, monkeypatch):
    monkeypatch.setenv("RFICAT_DATABASE_URL", fresh_db_url)
    engine = db.make_engine(fresh_db_url)
    db.migrate(engine)
    for path, _ in files[:2]:
        ingest.ingest_file(engine, path)
    yield engine
    engine.dispose()


def _truth_by_snippet(engine, files) -> dict[int, str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT s.id, s.f_center_mhz, o.path FROM snippets s JOIN observations o"
                                    " ON o.id = s.observation_id WHERE s.is_signal")).all()
    truth = {str(path.resolve()): rows_ for path, rows_ in files}
    out = {}
    for sid, f, path in rows:
        nearest = min(truth[path], key=lambda t: abs(t["f_mid_mhz"] - f))
        if abs(nearest["f_mid_mhz"] - f) < 0.0015:
            out[sid] = nearest["label"]
    return out


def test_build_finds_the_morphology_classes(rfi_db, files):
    stages = []
    summary = rfi.build(rfi_db, min_cluster_size=5, stage=stages.append)
    steps = [s.split()[0] for s in stages if not s.startswith("judged")]  # "judged N ...": one per batch
    assert steps == ["sampling", "clustering", "judging", "class"]  # the sample is the whole catalogue
    assert any(s.startswith("judged") for s in stages)
    assert summary.n_classes >= len(KINDS) and summary.n_assigned > 0 and summary.n_judged >= summary.n_assigned
    truth = _truth_by_snippet(rfi_db, files)
    with rfi_db.connect() as conn:
        assigned = dict(conn.execute(sa.text(
            "SELECT snippet_id, class_id FROM snippet_verdicts WHERE class_id IS NOT NULL")).all())
    # each class is (almost) pure: one morphology kind dominates its members
    by_class: dict[int, list[str]] = {}
    for sid, cid in assigned.items():
        if sid in truth:
            by_class.setdefault(cid, []).append(truth[sid])
    purity = sum(max(v.count(k) for k in KINDS) for v in by_class.values()) / sum(map(len, by_class.values()))
    assert purity > 0.9
    classes = rfi.list_classes(rfi_db)
    assert classes["size"].sum() == len(assigned) and (classes["n_observations"] >= 1).all()
    assert (classes["n_reference"] == classes["size"]).all()  # no cadence: every observation is a reference
    assert (classes["size"] > 0).all()  # a class no snippet joins by local density is not kept
    top = rfi.get_class(rfi_db, int(classes["class_id"].iloc[0]))
    assert len(top["frequency_occupancy"]["counts"]) == rfi.HISTOGRAM_BINS
    assert sum(top["frequency_occupancy"]["counts"]) == top["size"]


def test_labels_survive_a_rebuild_and_new_ingest_is_flagged(rfi_db, files):
    rfi.build(rfi_db, min_cluster_size=5)
    classes = rfi.list_classes(rfi_db)
    first = int(classes["class_id"].iloc[0])
    rfi.label_class(rfi_db, first, "test carrier", notes="seen everywhere")
    summary = rfi.build(rfi_db, min_cluster_size=5, seed=1)  # a rebuild: new classes, matched labels
    assert summary.labels_carried >= 1 and summary.labels_left_behind == []
    relabelled = rfi.list_classes(rfi_db)
    assert "test carrier" in set(relabelled["label"])
    with pytest.raises(Exception, match="no longer current"):
        rfi.label_class(rfi_db, first, "stale")
    # a new observation of the same kinds: its snippets are judged RFI as they arrive (lookalikes,
    # drifting alike, in the two earlier observations)
    result = ingest.ingest_file(rfi_db, files[2][0])
    assert result.n_known_rfi > 0.5 * result.n_signal
    with rfi_db.connect() as conn:
        sid = conn.execute(sa.text("SELECT snippet_id FROM snippet_rfi WHERE verdict = 'known_rfi' LIMIT 1")).scalar()
        row = conn.execute(sa.text("SELECT e.latent, s.drift_rate_hz_s, s.drift_error_hz_s, s.observation_id FROM embeddings e"
                                   " JOIN snippets s ON s.id = e.snippet_id WHERE s.id = :s"), {"s": sid}).one()
        known = conn.execute(sa.text("SELECT known_rfi FROM rficat_verdict(:s)"), {"s": sid}).scalar()
        # rficat_classify's old calls still work; without a drift rate nothing can be judged RFI
        old = conn.execute(sa.text("SELECT class_id, known_rfi, verdict FROM rficat_classify(:v)"),
                           {"v": row.latent}).one()
        with_drift = conn.execute(sa.text("SELECT verdict FROM rficat_classify(:v, NULL, :d, p_observation_id => :o,"
                                          " p_drift_error_hz_s => :e)"),
                                  {"v": row.latent, "d": row.drift_rate_hz_s, "o": row.observation_id,
                                   "e": row.drift_error_hz_s}).scalar()
    assert known is True
    assert old.known_rfi is False and old.verdict == "unjudged"
    assert with_drift in ("likely_rfi", "known_rfi")


def test_rfi_cli(rfi_db, capsys, tmp_path):
    capsys.readouterr()
    assert main(["rfi", "build", "--min-cluster-size", "5", "--json"]) == 0
    build = json.loads(capsys.readouterr().out)
    assert build["n_classes"] >= 1
    assert main(["rfi", "list", "--json"]) == 0
    classes = json.loads(capsys.readouterr().out)
    cid = classes[0]["class_id"]
    png = tmp_path / "class.png"
    assert main(["rfi", "show", str(cid), "--plot", str(png), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["class_id"] == cid and png.read_bytes()[:4] == b"\x89PNG"
    assert main(["rfi", "label", str(cid), "GPS-like", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "GPS-like"
    assert main(["rfi", "label", "99999", "x"]) == 1
    assert "no RFI class 99999" in capsys.readouterr().err


def test_empty_catalogue_and_no_build(fresh_db_url, monkeypatch, capsys):
    monkeypatch.setenv("RFICAT_DATABASE_URL", fresh_db_url)
    assert main(["db", "init"]) == 0
    capsys.readouterr()
    assert main(["rfi", "list"]) == 1
    assert "rficat rfi build" in capsys.readouterr().err
    assert main(["rfi", "build"]) == 1
    assert "catalogue is empty" in capsys.readouterr().err


def test_search_filters_on_known_rfi(rfi_db):
    from rficat.catalogue import search

    rfi.build(rfi_db, min_cluster_size=5)
    with rfi_db.connect() as conn:
        known = set(conn.execute(sa.text("SELECT snippet_id FROM snippet_rfi")).scalars())
        members = dict(conn.execute(sa.text(
            "SELECT snippet_id, class_id FROM snippet_verdicts WHERE class_id IS NOT NULL")).all())
        query = conn.execute(sa.text("SELECT min(id) FROM snippets WHERE is_signal")).scalar()
    unknown = search.lookalikes(rfi_db, query, k=5, filters=search.Filters(not_known_rfi=True))
    assert not set(unknown["snippet_id"]) & known
    some_class = next(iter(members.values()))
    same = search.lookalikes(rfi_db, query, k=5, use_frequency=False, filters=search.Filters(rfi_class_id=some_class))
    assert len(same) == min(5, sum(c == some_class for s, c in members.items() if s != query))
    assert all(members[int(s)] == some_class for s in same["snippet_id"])


def test_a_label_no_class_matches_is_reported_and_kept(rfi_db, caplog):
    rfi.build(rfi_db, min_cluster_size=5)
    first = int(rfi.list_classes(rfi_db)["class_id"].iloc[0])
    rfi.label_class(rfi_db, first, "orphan")
    with rfi_db.begin() as conn:  # move the old centroid far from anything the rebuild can find
        dim = conn.execute(sa.text("SELECT vector_dims(centroid) FROM rfi_classes WHERE id = :c"), {"c": first}).scalar()
        conn.execute(sa.text("UPDATE rfi_classes SET centroid = CAST(:v AS vector) WHERE id = :c"),
                     {"v": str([0.0] * (dim - 1) + [-1.0]), "c": first})
    summary = rfi.build(rfi_db, min_cluster_size=5, seed=2)
    assert summary.labels_left_behind == ["orphan"] and "orphan" in caplog.text
    assert rfi.get_class(rfi_db, first)["label"] == "orphan"  # still there, on the old build


def test_a_drifting_signal_never_joins_a_stationary_class(rfi_db):
    """Drift consistency: the same latent vector is in its class (and RFI) at the class's drift, but
    neither at 1 Hz/s beyond it."""
    rfi.build(rfi_db, min_cluster_size=5)
    with rfi_db.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT r.snippet_id, r.class_id, e.latent, s.drift_rate_hz_s, s.drift_error_hz_s, s.observation_id"
            " FROM snippet_rfi r JOIN embeddings e USING (snippet_id) JOIN snippets s ON s.id = r.snippet_id"
            " WHERE r.class_id IS NOT NULL AND abs(s.drift_rate_hz_s) < 0.05 ORDER BY r.distance LIMIT 1")).mappings().one()
        classify = sa.text("SELECT class_id, verdict FROM rficat_classify(:v, NULL, :d, p_drift_error_hz_s => :e,"
                           " p_observation_id => :o, p_snippet_id => :s)")
        args = {"v": row["latent"], "e": row["drift_error_hz_s"], "o": row["observation_id"], "s": row["snippet_id"]}
        inside = conn.execute(classify, {**args, "d": row["drift_rate_hz_s"]}).one()
        outside = conn.execute(classify, {**args, "d": row["drift_rate_hz_s"] + 1.0}).one()
    assert inside.class_id == row["class_id"] and inside.verdict in ("likely_rfi", "known_rfi")
    assert outside.class_id is None and outside.verdict == "candidate"
    # the same when the snippet is judged again: were it drifting, it would be neither
    with rfi_db.begin() as conn:
        conn.execute(sa.text("UPDATE snippets SET drift_rate_hz_s = drift_rate_hz_s + 1.0 WHERE id = :s"),
                     {"s": row["snippet_id"]})
        conn.execute(sa.text("DELETE FROM rfi_assignments WHERE snippet_id = :s"), {"s": row["snippet_id"]})
        conn.execute(sa.text("SELECT rficat_assign_rfi(:o)"), {"o": row["observation_id"]})
        now = conn.execute(sa.text("SELECT class_id, verdict FROM snippet_verdicts WHERE snippet_id = :s"),
                           {"s": row["snippet_id"]}).one()
    assert now.class_id is None and now.verdict == "candidate"


def test_a_stale_build_is_reported(rfi_db, tmp_path, capsys, monkeypatch, caplog):
    """New morphologies since the build, or a build on another model than the current one: `rfi list` says so."""
    rfi.build(rfi_db, min_cluster_size=5)
    assert rfi.staleness(rfi_db) == []
    spec = synth.ObservationSpec(n_coarse_channels=4, seed=99)
    slots = synth.random_signals(spec, 12, np.random.default_rng(99), drift=(0, 0), min_separation=3000)
    wandering = [replace(s, snr=60.0, width_hz=20.0, path="wandering", period_s=600, label="wandering") for s in slots]
    path = tmp_path / "wandering.h5"
    synth.write_observation(path, spec, wandering)
    ingest.ingest_file(rfi_db, path)
    [reason] = rfi.staleness(rfi_db)
    assert "fell in no class" in reason and "rficat rfi build" in reason
    with rfi_db.begin() as conn:
        conn.execute(sa.text("UPDATE models SET is_current = false"))
        conn.execute(sa.text("INSERT INTO models (name, version, latent_dim, fingerprint, is_current)"
                             " VALUES ('newer', 1, 8, 'newer', true)"))
    capsys.readouterr()
    assert main(["rfi", "list", "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out) and "but the current model is" in caplog.text


KILLED_BUILD = """
import sys, time
from rficat.catalogue import rfi
from rficat.store import db

def slow(step):
    if step.startswith("judged"):
        time.sleep(60)  # killed here, after its first batch is committed

rfi.build(db.make_engine(sys.argv[1]), min_cluster_size=5, batch=10, stage=slow)
"""


def test_a_killed_build_is_never_current_and_the_rerun_completes_it(rfi_db, fresh_db_url, tmp_path):
    first = rfi.build(rfi_db, min_cluster_size=5, seed=1)
    rfi.label_class(rfi_db, int(rfi.list_classes(rfi_db)["class_id"].iloc[0]), "kept label")
    script = tmp_path / "build.py"
    script.write_text(KILLED_BUILD)
    child = subprocess.Popen([sys.executable, str(script), fresh_db_url])
    try:
        deadline = time.monotonic() + 300
        while True:
            with rfi_db.connect() as conn:
                judged = conn.execute(sa.text("SELECT n_judged FROM rfi_builds WHERE status = 'building'")).scalar()
            if judged or time.monotonic() > deadline or child.poll() is not None:
                break
            time.sleep(0.5)
        assert judged == 10, "the build should be killed after its first batch"
    finally:
        child.kill()  # SIGKILL: no cleanup of any kind runs
        child.wait()
    with rfi_db.connect() as conn:
        current = conn.execute(sa.text("SELECT id FROM rfi_builds WHERE is_current")).scalar()
        half = conn.execute(sa.text("SELECT id, is_current, judged_through FROM rfi_builds WHERE status = 'building'")).one()
        n_signal = conn.execute(sa.text("SELECT count(*) FROM snippets s JOIN embeddings e ON e.snippet_id = s.id"
                                        " WHERE s.is_signal")).scalar()
    assert current == first.build_id and not half.is_current and half.judged_through is not None
    assert len(rfi.list_classes(rfi_db)) == first.n_classes  # still the complete build's classes
    with pytest.raises(sa.exc.IntegrityError, match="current_complete"), rfi_db.begin() as conn:
        conn.execute(sa.text("UPDATE rfi_builds SET is_current = (id = :b)"), {"b": half.id})

    summary = rfi.build(rfi_db, min_cluster_size=5, batch=10)  # the same parameters: resumed, not redone
    assert summary.resumed and summary.build_id == half.id and summary.n_judged == n_signal
    assert summary.labels_carried == 1
    with rfi_db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM rfi_assignments WHERE build_id = :b"),
                            {"b": half.id}).scalar() == n_signal
        assert conn.execute(sa.text("SELECT id FROM rfi_builds WHERE is_current")).scalar() == half.id
        # retiring the previous build purged its verdicts; its classes (and labels) stay
        old = conn.execute(sa.text("SELECT status, (SELECT count(*) FROM rfi_assignments WHERE build_id = b.id),"
                                   " (SELECT count(*) FROM rfi_classes WHERE build_id = b.id AND label IS NOT NULL)"
                                   " FROM rfi_builds b WHERE id = :b"), {"b": first.build_id}).one()
    assert tuple(old) == ("retired", 0, 1)


def test_the_sample_is_a_repeatable_tablesample(rfi_db):
    with rfi_db.connect() as conn:
        n_signal = conn.execute(sa.text("SELECT count(*) FROM snippets s JOIN embeddings e ON e.snippet_id = s.id"
                                        " WHERE s.is_signal")).scalar()
    n, model = n_signal // 2, models.require_current_model(rfi_db)
    first, again = rfi.sample_snippets(rfi_db, model, n, seed=3), rfi.sample_snippets(rfi_db, model, n, seed=3)
    other = rfi.sample_snippets(rfi_db, model, n, seed=4)
    assert len(first.ids) == n and np.array_equal(first.ids, again.ids) and not np.array_equal(first.ids, other.ids)
    assert len(rfi.sample_snippets(rfi_db, model, 10 * n_signal, seed=3).ids) == n_signal  # all of them, no more


def test_a_sample_smaller_than_the_catalogue_gets_a_second_pass_over_what_it_missed(rfi_db):
    with rfi_db.connect() as conn:
        n_signal = conn.execute(sa.text("SELECT count(*) FROM snippets WHERE is_signal")).scalar()
    stages = []
    # a first sample of 12 holds ~4 of each kind: too few for a class of 5, so every kind is "rare"
    summary = rfi.build(rfi_db, min_cluster_size=5, sample=12, rare_sample=n_signal, stage=stages.append)
    assert any(s.startswith("finding the snippets with fewer than 5 lookalikes") for s in stages)
    with rfi_db.connect() as conn:
        params = conn.execute(sa.text("SELECT params FROM rfi_builds WHERE id = :b"), {"b": summary.build_id}).scalar()
    assert 0 < params["n_uncovered"] <= n_signal and 0 < params["n_rare_sampled"] <= params["n_uncovered"]
    assert params["n_rare_classes"] >= 1 and summary.n_classes == params["n_rare_classes"]
    assert summary.n_judged == n_signal and summary.n_assigned > 0
    none = rfi.build(rfi_db, min_cluster_size=5, sample=12, rare_sample=0)  # without it: no class can form
    assert none.n_classes == 0


def test_drifting_classes_of_one_mode_join_across_sign_but_not_across_kinds_or_modes():
    """rfi.join_drift_modes: a kind drifting +0.3 and -0.35 Hz/s (alike once mirrored) is one class;
    the same kind at 0.9 Hz/s (another mode), two stationary groups and a chain whose ends differ
    stay apart."""
    def unit(v):
        v = np.asarray(v, dtype=np.float64)
        return v / np.linalg.norm(v)

    base = unit([1, 0.2, 0, 0])
    mirror_of_base = unit([0, 0.2, 1, 0])  # what the +drift kind's pictures look like mirrored
    vectors = {"up": base, "down": mirror_of_base, "fast": base, "still_a": unit([0, 0, 0, 1]),
               "still_b": unit([0, 0, 0.05, 1]), "chain_a": unit([0, 1, 0, 0.45]), "chain_b": unit([0, 1, 0, 0]),
               "chain_c": unit([0, 1, 0, -0.45])}
    mirrored = {"up": mirror_of_base, "down": base, "fast": mirror_of_base, "still_a": vectors["still_a"],
                "still_b": vectors["still_b"], "chain_a": unit([0, 1, 0.45, 0]), "chain_b": unit([0, 1, 0, 0]),
                "chain_c": unit([0, 1, -0.45, 0])}
    drifts = {"up": 0.3, "down": -0.35, "fast": 0.9, "still_a": 0.0, "still_b": 0.001, "chain_a": 0.5,
              "chain_b": 0.55, "chain_c": 0.6}
    names = list(vectors)
    z = np.repeat([vectors[n] for n in names], 6, axis=0)
    drift = np.repeat([drifts[n] for n in names], 6)
    groups = [np.arange(6 * i, 6 * i + 6) for i in range(len(names))]
    joined = rfi.join_drift_modes(groups, z, np.array([mirrored[n] for n in names]), drift, np.full(len(z), 0.01))
    as_names = sorted(sorted(names[g[0] // 6] for g in np.split(j, len(j) // 6)) for j in joined)
    chain = [n for n in as_names if "chain_b" in n][0]
    assert ["down", "up"] in as_names and ["fast"] in as_names
    assert ["still_a"] in as_names and ["still_b"] in as_names
    assert len(chain) == 2  # chain_b joins one end (cosine 0.91), never both: the ends are 0.66 alike


def test_a_kind_seen_drifting_both_ways_is_one_class(fresh_db_url, tmp_path, caplog):
    """A build joins the classes of one morphology drifting +0.6 and -0.6 Hz/s (its pictures
    mirrored in frequency, encoded with the model, look like the other sign's) and keeps the
    stationary kind apart; without the model's weights, it warns and keeps the signs apart."""
    spec = synth.ObservationSpec(n_coarse_channels=4, seed=61)
    kinds = {"up": 0.6, "down": -0.6, "still": 0.0}
    engine = db.make_engine(fresh_db_url)
    db.migrate(engine)
    truth = []
    for i in range(2):
        slots = synth.random_signals(spec, 14 * len(kinds), np.random.default_rng(5), drift=(0, 0), min_separation=3000)
        rng = np.random.default_rng(70 + i)
        signals = [replace(slot, snr=float(rng.uniform(40, 70)), label=kind, drift_hz_s=d, width_hz=25.0,
                           f_start_mhz=slot.f_start_mhz - d * spec.obs_length_s / 2e6)
                   for slot, (kind, d) in zip(slots, [k for k in kinds.items() for _ in range(14)])]
        path = tmp_path / f"both_ways{i}.h5"
        truth.append((path, synth.write_observation(path, spec, signals)))
        ingest.ingest_file(engine, path)
    try:
        summary = rfi.build(engine, min_cluster_size=5)
        with engine.connect() as conn:
            params = conn.execute(sa.text("SELECT params FROM rfi_builds WHERE id = :b"),
                                  {"b": summary.build_id}).scalar()
        assert params["n_mode_joins"] >= 1 and params["mode_similarity"] == rfi.MODE_SIMILARITY
        kind_of = _truth_by_snippet(engine, truth)
        classes = _classes_of_kinds(engine, kind_of, kinds)
        assert classes["up"] and classes["down"] and classes["still"]
        assert classes["up"] == classes["down"] and len(classes["up"]) == 1, classes
        assert not classes["still"] & classes["up"]
        with engine.begin() as conn:  # the weights of the catalogue's model are not on this machine
            conn.execute(sa.text("UPDATE models SET fingerprint = 'sha256:elsewhere'"))
        rfi.build(engine, min_cluster_size=5, resume=False)
        assert "join only classes of their own sign" in caplog.text
        apart = _classes_of_kinds(engine, kind_of, kinds)
        assert apart["up"] and apart["down"] and not apart["up"] & apart["down"], apart
    finally:
        engine.dispose()


def _classes_of_kinds(engine, kind_of: dict[int, str], kinds) -> dict[str, set[int]]:
    with engine.connect() as conn:
        classed = conn.execute(sa.text("SELECT snippet_id, class_id FROM snippet_verdicts"
                                       " WHERE class_id IS NOT NULL")).all()
    return {kind: {c for s, c in classed if kind_of.get(s) == kind} for kind in kinds}


def _comb_observation(path, seed: int, per_kind: int = 12):
    """Two stationary combs (4 tones 14 channels apart, 5 tones 36 apart) and single stationary
    lines, ``per_kind`` emitters of each at the same frequencies in every file."""
    spec = synth.ObservationSpec(n_coarse_channels=4, seed=seed)
    rng = np.random.default_rng(seed)
    slots = synth.random_signals(spec, 3 * per_kind, np.random.default_rng(8), drift=(0, 0), min_separation=3000)
    channel_mhz = abs(spec.foff_hz) * 1e-6
    signals = []
    for slot, (kind, tones, spacing) in zip(slots, [k for k in (("comb_narrow", 4, 14), ("comb_wide", 5, 36),
                                                               ("line", 1, 0)) for _ in range(per_kind)]):
        snr = float(rng.uniform(40, 60))
        for j in range(tones):
            offset = (j - (tones - 1) / 2) * spacing * channel_mhz
            signals.append(replace(slot, f_start_mhz=slot.f_start_mhz + offset, snr=snr, label=kind,
                                   width_hz=8.0 if tones > 1 else 25.0))
    return path, synth.write_observation(path, spec, signals)


def test_combs_of_any_spacing_are_one_class(fresh_db_url, tmp_path):
    """The stored pictures of stationary combs are combs (measures.is_comb) and a single line's are
    not; a build joins the two combs' classes, whose tone spacings differ 2.6 times, into one
    class (the vectors see the spacing first) and keeps the lines apart."""
    from rficat.catalogue import search
    from rficat.science import measures

    engine = db.make_engine(fresh_db_url)
    db.migrate(engine)
    files = [_comb_observation(tmp_path / f"combs{i}.h5", 90 + i) for i in range(3)]
    try:
        for path, _ in files:
            ingest.ingest_file(engine, path)
        kind_of = _truth_by_snippet(engine, files)
        for kind in ("comb_narrow", "comb_wide", "line"):
            ids = [s for s, k in kind_of.items() if k == kind]
            share = measures.is_comb(search.match_snippets(engine, ids)).mean()
            assert len(ids) >= 24 and (share >= 0.9 if kind != "line" else share == 0), (kind, len(ids), share)
        summary = rfi.build(engine, min_cluster_size=5)
        with engine.connect() as conn:
            params = conn.execute(sa.text("SELECT params FROM rfi_builds WHERE id = :b"),
                                  {"b": summary.build_id}).scalar()
        assert params["n_comb_joins"] >= 1 and params["modulated"] == measures.MODULATED
        classes = _classes_of_kinds(engine, kind_of, ("comb_narrow", "comb_wide", "line"))
        assert classes["comb_narrow"] and classes["line"]
        assert classes["comb_narrow"] == classes["comb_wide"] and len(classes["comb_narrow"]) == 1, classes
        assert not classes["line"] & classes["comb_narrow"]
    finally:
        engine.dispose()


def test_only_stationary_combs_are_joined():
    """rfi.join_combs: stationary comb groups become one; a drifting comb group (its tones smear in
    the time collapse, its drift mode is its own) and a stationary non-comb group stay apart."""
    groups = [np.arange(0, 5), np.arange(5, 10), np.arange(10, 15), np.arange(15, 20)]
    drift = np.concatenate([np.zeros(5), np.full(5, 0.002), np.full(5, 0.4), np.zeros(5)])
    joined = rfi.join_combs(groups, drift, np.full(20, 0.01), np.array([True, True, True, False]))
    as_sets = sorted(sorted(set(g // 5)) for g in joined)
    assert as_sets == [[0, 1], [2], [3]]


def test_steady_and_on_off_pictures_are_told_apart(rfi_db, files):
    """measures.intensity_modulation on stored pictures: steady carriers (stationary or drifting)
    measure below measures.MODULATED, carriers switched on and off every 120 s above it."""
    from rficat.catalogue import search
    from rficat.science import measures

    kind_of = _truth_by_snippet(rfi_db, files[:2])
    for kind in KINDS:
        ids = [s for s, k in kind_of.items() if k == kind]
        on_off = measures.intensity_modulation(search.match_snippets(rfi_db, ids)) > measures.MODULATED
        assert len(ids) >= 20 and on_off.mean() == pytest.approx(float(kind == "intermittent"), abs=0.1), (kind, on_off.mean())


def test_a_class_is_split_into_its_combs_its_on_off_and_its_steady_members():
    """rfi.split_by_pictures: a stationary group holding combs, pulse trains and steady lines
    becomes three parts; a part smaller than ``keep`` joins no class; a drifting group is never
    split by comb (its tones smear) but is by on/off; a group with no part that large stays whole."""
    comb = np.array([1] * 6 + [0] * 12 + [1] * 6 + [0] * 6 + [0] * 4, bool)
    modulated = np.array([0] * 6 + [1] * 6 + [0] * 6 + [0] * 6 + [1] * 6 + [1, 0, 0, 0], bool)
    groups = [np.arange(0, 18), np.arange(18, 30), np.arange(30, 34)]
    drift = np.concatenate([np.zeros(18), np.full(12, 0.5), np.zeros(4)])
    parts, is_comb = rfi.split_by_pictures(groups, comb, modulated, drift, np.full(34, 0.01), keep=5)
    as_lists = [sorted(p.tolist()) for p in parts]
    assert as_lists == [list(range(0, 6)), list(range(6, 12)), list(range(12, 18)), list(range(24, 30)),
                        list(range(18, 24)), list(range(30, 34))]
    assert is_comb.tolist() == [True, False, False, False, False, False]
