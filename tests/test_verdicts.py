"""Verdicts never discard a discovery: RFI needs drift-consistent lookalikes seen where no target's
signal can be, whatever class radius a signal falls in; one rule in Python and SQL.

The catalogue: two background observations (outside any cadence) and an ABACAD cadence.
Stationary narrowband carriers are everywhere (the big narrowband class); intermittent carriers
appear in the OFF scans and the background; the ON scans alone hold one intermittent carrier
(RFI that happens to follow the cadence) and two narrowband carriers drifting at +0.25 and
-0.4 Hz/s (ETI-like: nothing like them drifts that way anywhere else).
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import sqlalchemy as sa

from rficat.catalogue import cadence, ingest, rfi, verdicts
from rficat.cli import main
from rficat.store import db
from rficat.synthetic import synth

SPEC = synth.ObservationSpec(n_coarse_channels=4, seed=7)
ETI_DRIFTS = (0.25, -0.4)


def _at_mid(signal: synth.Signal, drift: float, **fields) -> synth.Signal:
    """The signal with this drift, centred where it was at mid-scan."""
    half = SPEC.obs_length_s / 2 * 1e-6
    return replace(signal, f_start_mhz=signal.f_start_mhz - drift * half, drift_hz_s=drift, **fields)


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    directory = tmp_path_factory.mktemp("verdicts")
    rng = np.random.default_rng(15)
    slots = synth.random_signals(SPEC, 44, rng, drift=(0, 0), min_separation=3000)
    assert len(slots) == 44, "not enough room for the signals"
    stationary = [replace(s, snr=float(rng.uniform(40, 60)), width_hz=20.0, label="stationary") for s in slots[:24]]
    intermittent = [replace(s, snr=float(rng.uniform(40, 60)), width_hz=20.0, t_profile="intermittent", period_s=120,
                            label="intermittent") for s in slots[24:40]]
    on_only_rfi = intermittent[-1]
    eti = [_at_mid(s, d, snr=50.0, width_hz=4.0, label="eti") for s, d in zip(slots[40:42], ETI_DRIFTS)]
    files = {}
    for k in range(2):  # background: stationary and intermittent carriers, no cadence
        spec = replace(SPEC, source_name=f"BG{k}", mjd_start=SPEC.mjd_start - 10 - k, seed=70 + k)
        path = directory / f"background{k}.h5"
        synth.write_observation(path, spec, stationary[12 * k:12 * k + 12] + intermittent[:8])
        files[path] = None
    for position, letter in enumerate("ABACAD"):
        on = letter == "A"
        spec = replace(SPEC, source_name="TARGET" if on else f"OFF_{letter}", seed=80 + position,
                       mjd_start=SPEC.mjd_start + position * SPEC.obs_length_s / 86400)
        elapsed = position * SPEC.obs_length_s
        signals = stationary[:12] + (
            [on_only_rfi] + [replace(s, f_start_mhz=s.f_start_mhz + s.drift_hz_s * elapsed * 1e-6) for s in eti]
            if on else intermittent[8:15])
        path = directory / f"scan{position}_{letter}.h5"
        synth.write_observation(path, spec, signals)
        files[path] = "ON" if on else "OFF"
    mid = SPEC.obs_length_s / 2 * 1e-6
    assert len(eti) == len(ETI_DRIFTS)
    return {"files": files, "eti_mhz": [s.f_start_mhz + s.drift_hz_s * mid for s in eti],
            "on_only_rfi_mhz": on_only_rfi.f_start_mhz}


@pytest.fixture
def catalogue(fresh_db_url, layout, monkeypatch):
    monkeypatch.setenv("RFICAT_DATABASE_URL", fresh_db_url)
    engine = db.make_engine(fresh_db_url)
    db.migrate(engine)
    for path in layout["files"]:
        ingest.ingest_file(engine, path)
    cadence.add_cadence(engine, "c", [p for p, role in layout["files"].items() if role])
    rfi.build(engine, min_cluster_size=5)
    yield engine
    engine.dispose()


def _event(events, f_mhz: float):
    near = events[(events["f_center_mhz"] - f_mhz).abs() < 0.001]
    assert len(near) == 1, f"no single event at {f_mhz} MHz"
    return near.iloc[0]


def test_a_drifting_signal_inside_a_big_class_radius_is_not_known_rfi(catalogue, layout):
    with catalogue.begin() as conn:
        # the old rule's premise, made certain: the biggest (stationary narrowband) class's radius
        # holds every vector and its drift range admits every drift
        big = conn.execute(sa.text("SELECT class_id, size FROM rfi_class_summary ORDER BY size DESC LIMIT 1")).one()
        conn.execute(sa.text("UPDATE rfi_classes SET radius = 2, drift_min_hz_s = -10, drift_max_hz_s = 10"
                             " WHERE id = :c"), {"c": big.class_id})
    assert big.size >= 20
    events = cadence.search(catalogue, "c")
    for f_mhz in layout["eti_mhz"]:
        event = _event(events, f_mhz)
        assert event["verdict"] == "candidate" and not event["likely_rfi"], event["explanation"]
        assert event["rfi_class_id"] is None and event["evidence"] == []
        assert "drifting like it" in event["explanation"] and "one channel over the scan" in event["explanation"]
        with catalogue.connect() as conn:
            v = conn.execute(sa.text("SELECT verdict FROM rficat_verdict(:s)"), {"s": int(event["snippet_id"])}).scalar()
        assert v in ("candidate", "unjudged")


def test_an_emitter_seen_in_off_scans_is_rfi(catalogue, layout):
    event = _event(cadence.search(catalogue, "c"), layout["on_only_rfi_mhz"])
    assert event["verdict"] in ("likely_rfi", "known_rfi") and event["likely_rfi"], event["explanation"]
    assert len(event["evidence"]) >= 2
    with catalogue.connect() as conn:
        roles = conn.execute(sa.text(
            "SELECT DISTINCT coalesce(cm.role, 'no cadence') FROM snippets s"
            " LEFT JOIN cadence_members cm ON cm.observation_id = s.observation_id WHERE s.id = ANY(:ids)"),
            {"ids": [e["snippet_id"] for e in event["evidence"]]}).scalars().all()
    assert "ON" not in roles  # evidence comes only from where no target's signal can be


def test_the_ablation_of_the_cadence_search(catalogue, layout):
    on_off = cadence.search(catalogue, "c", use_verdicts=False)
    assert set(on_off["verdict"]) == {"candidate"}
    evidence_only = cadence.search(catalogue, "c", use_classes=False)
    assert _event(evidence_only, layout["on_only_rfi_mhz"])["verdict"] == "likely_rfi"
    assert all(_event(evidence_only, f)["verdict"] == "candidate" for f in layout["eti_mhz"])


def test_python_and_sql_give_the_same_verdicts(catalogue):
    with catalogue.connect() as conn:
        ids = conn.execute(sa.text("SELECT id FROM snippets WHERE is_signal ORDER BY id")).scalars().all()
        in_sql = {sid: conn.execute(sa.text("SELECT verdict, class_id, evidence FROM rficat_verdict(:s)"),
                                    {"s": sid}).one() for sid in ids}
        stored = dict(conn.execute(sa.text("SELECT snippet_id, verdict FROM snippet_verdicts")).all())
    in_python = verdicts.judge_snippets(catalogue, ids)
    for sid in ids:
        sql_row, py = in_sql[sid], in_python[sid]
        assert (py.verdict, py.class_id) == (sql_row.verdict, sql_row.class_id), sid
        assert [e["snippet_id"] for e in py.evidence] == [e["snippet_id"] for e in sql_row.evidence], sid
        assert stored[sid] == py.verdict  # what the build stored is what is judged now
    assert {v.verdict for v in in_python.values()} >= {"candidate", "likely_rfi", "known_rfi"}


def test_a_drift_known_far_more_loosely_than_a_class_members_does_not_place_a_signal_in_it(catalogue):
    """A class is a drift mode: a member's picture with its drift known to +-1 Hz/s (a chirp's or a
    random walk's widened error) is consistent with the class's drifts but joins it no more
    (its tolerance over twice the class members', migration 0026); with its own error it does.
    Python and SQL agree."""
    with catalogue.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT e.latent::text AS latent, s.drift_rate_hz_s, s.drift_error_hz_s, s.snr, s.f_center_mhz,"
            " s.observation_id, v.class_id FROM snippets s JOIN embeddings e ON e.snippet_id = s.id"
            " CROSS JOIN LATERAL rficat_verdict(s.id) v WHERE s.is_signal AND v.class_id IS NOT NULL"
            " ORDER BY s.id LIMIT 1")).one()
    latent = np.array(json.loads(row.latent))
    classes = {}
    for name, error in (("own", row.drift_error_hz_s), ("loose", 1.0)):
        [py] = verdicts.judge_vectors(catalogue, latent, row.drift_rate_hz_s, drift_error_hz_s=error, snr=row.snr,
                                      observation_id=row.observation_id, f_center_mhz=row.f_center_mhz)
        with catalogue.connect() as conn:
            in_sql = conn.execute(sa.text(
                "SELECT class_id FROM rficat_classify(CAST(:v AS vector), NULL, :d, :f, NULL, :e, :snr, :o)"),
                {"v": row.latent, "d": row.drift_rate_hz_s, "f": row.f_center_mhz, "e": error, "snr": row.snr,
                 "o": row.observation_id}).scalar()
        assert py.class_id == in_sql, name
        classes[name] = py.class_id
    assert classes == {"own": row.class_id, "loose": None}


def test_one_vector_or_a_batch(catalogue, layout):
    with catalogue.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT e.latent::text, s.drift_rate_hz_s, s.drift_error_hz_s, s.snr, s.observation_id FROM snippets s"
            " JOIN embeddings e ON e.snippet_id = s.id WHERE s.is_signal ORDER BY s.id LIMIT 20")).all()
    latent = np.array([json.loads(r[0]) for r in rows])
    batch = verdicts.judge_vectors(catalogue, latent, [r[1] for r in rows], drift_error_hz_s=[r[2] for r in rows],
                                   snr=[r[3] for r in rows], observation_id=[r[4] for r in rows])
    one = verdicts.judge_vectors(catalogue, latent[0], rows[0][1], drift_error_hz_s=rows[0][2], snr=rows[0][3],
                                 observation_id=rows[0][4])
    assert len(batch) == 20 and one[0].verdict == batch[0].verdict
    faint = verdicts.judge_vectors(catalogue, latent[0], rows[0][1], snr=2.0)[0]
    assert faint.verdict == "unjudged" and "SNR 2.0" in faint.explanation
    no_drift = verdicts.judge_vectors(catalogue, latent[0], None)[0]
    assert no_drift.verdict == "unjudged"


def test_a_failed_build_leaves_the_previous_one_current(catalogue):
    with catalogue.connect() as conn:
        before = conn.execute(sa.text("SELECT id FROM rfi_builds WHERE is_current")).scalar()

    def fail_late(step: str) -> None:
        if step.startswith("class statistics"):
            raise RuntimeError("killed mid-build")

    with pytest.raises(RuntimeError, match="killed"):
        rfi.build(catalogue, min_cluster_size=5, stage=fail_late)
    with catalogue.connect() as conn:
        assert conn.execute(sa.text("SELECT id FROM rfi_builds WHERE is_current")).scalar() == before
        # the unfinished build waits, judged but never current, for a build with its parameters to resume it
        unfinished = conn.execute(sa.text("SELECT id, is_current, n_judged FROM rfi_builds WHERE status = 'building'")).one()
        assert not unfinished.is_current and unfinished.n_judged > 0
    # one with other parameters discards it (its verdicts, classes and bank) and makes its own
    summary = rfi.build(catalogue, min_cluster_size=6)
    assert not summary.resumed and summary.build_id != unfinished.id
    with catalogue.connect() as conn:
        for table in ("rfi_builds WHERE id", "rfi_assignments WHERE build_id", "rfi_bank WHERE build_id",
                      "rfi_classes WHERE build_id"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table} = :b"), {"b": unfinished.id}).scalar() == 0
        assert conn.execute(sa.text("SELECT status FROM rfi_builds WHERE id = :b"), {"b": before}).scalar() == "retired"


@pytest.mark.parametrize("n_files", [0, 1])
def test_rfi_build_says_what_is_missing(fresh_db_url, layout, monkeypatch, capsys, n_files):
    monkeypatch.setenv("RFICAT_DATABASE_URL", fresh_db_url)
    assert main(["db", "init"]) == 0
    engine = db.make_engine(fresh_db_url)
    for path in list(layout["files"])[:n_files]:
        ingest.ingest_file(engine, path)
    engine.dispose()
    capsys.readouterr()
    assert main(["rfi", "build"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rficat: error:")
    assert ("catalogue is empty" if n_files == 0 else "1 observation") in err[0]

