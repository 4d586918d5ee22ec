"""The OFF veto of cadence search needs the same kind of signal: one that drifts like the event.

An ABACAD cadence (setigen, GBT resolution, fixed seeds) with two ETI-like carriers drifting
+0.30 Hz/s seen only in the ON scans. In every OFF scan, on each carrier's expected track, sits
a narrowband carrier of the same shape: for the first it drifts +0.15 Hz/s (15 channels over the
scan apart: another emitter), for the second +0.30 Hz/s (the same kind of signal). The ON
appearances of the first also count by their track alone (faint tracks that look less alike).
Three reference observations (no cadence) hold carriers of the same shape drifting +0.30 Hz/s:
one where the first carrier is in the middle ON scan (the same emitter seen again: lookalike
evidence against its picture), one elsewhere in the band (no evidence against a drifting signal).
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import sqlalchemy as sa

from rficat.catalogue import cadence, ingest, rfi, verdicts
from rficat.store import db
from rficat.synthetic import synth

DRIFT = 0.30
DECOYS = {"different_drift": 0.15, "same_drift": DRIFT}
ELSEWHERE = 60_000  # channel of a reference carrier far from both


@pytest.fixture(scope="module")
def veto_cadence(server_url, tmp_path_factory):
    directory = tmp_path_factory.mktemp("veto")
    spec = synth.ObservationSpec(n_coarse_channels=1, seed=19)
    starts = {"different_drift": spec.frequency_mhz(12_000), "same_drift": spec.frequency_mhz(45_000)}
    paths = []
    for position, letter in enumerate("ABACAD"):
        on = letter == "A"
        elapsed = position * spec.obs_length_s
        scan = replace(spec, source_name="VETO_TARGET" if on else f"VETO_OFF_{letter}",
                       mjd_start=spec.mjd_start + elapsed / 86400, seed=1900 + position)
        signals = []
        for name, f0 in starts.items():
            f_mid = f0 + DRIFT * (elapsed + spec.obs_length_s / 2) * 1e-6  # the carrier's track, mid-scan
            drift = DRIFT if on else DECOYS[name]
            signals.append(synth.Signal(f_mid - drift * spec.obs_length_s / 2 * 1e-6, drift, snr=40.0,
                                        width_hz=10.0, label=name if on else f"decoy_{name}"))
        path = directory / f"scan{position}_{letter}.h5"
        synth.write_observation(path, scan, signals)
        paths.append(path)
    references = []
    half = DRIFT * spec.obs_length_s / 2 * 1e-6
    here = starts["different_drift"] + DRIFT * 2.5 * spec.obs_length_s * 1e-6  # mid-scan of the middle ON scan
    for i in range(3):
        path = directory / f"reference{i}.h5"
        synth.write_observation(path, replace(spec, source_name=f"VETO_REF{i}", mjd_start=spec.mjd_start + 1 + i,
                                              seed=1950 + i),
                                [synth.Signal(f - half, DRIFT, snr=40.0, width_hz=10.0, label="reference")
                                 for f in (here, spec.frequency_mhz(ELSEWHERE))])
        references.append(path)
    with db.scratch_database(server_url, "veto") as url:
        engine = db.make_engine(url)
        for path in paths + references:
            ingest.ingest_file(engine, path, n_noise_per_channel=2)
        cadence.add_cadence(engine, "veto", paths)
        yield {"engine": engine, "starts": starts, "spec": spec, "here_mhz": here}
        engine.dispose()


def _reported(events, f_mhz: float, spec) -> list[dict]:
    reach = 400 * abs(spec.foff_hz) * 1e-6
    return [e for e in events.to_dict("records") if abs(e["f_center_mhz"] - f_mhz) <= reach]


def test_off_rfi_of_another_drift_does_not_veto_an_on_only_signal(veto_cadence):
    engine, starts, spec = veto_cadence["engine"], veto_cadence["starts"], veto_cadence["spec"]
    blind = cadence.search(engine, "veto", off_drift_consistent=False)
    # the decoy is the same shape: drift-blind, it vetoes (the rule before migration 0019)
    assert not _reported(blind, starts["different_drift"], spec)
    events = cadence.search(engine, "veto")
    found = _reported(events, starts["different_drift"], spec)
    assert len(found) == 1, events[["f_center_mhz", "drift_rate_hz_s", "best_off_similarity", "explanation"]]
    event = found[0]
    assert abs(event["drift_rate_hz_s"] - DRIFT) < 0.03
    assert event["off_scans_checked"] == 3
    assert event["best_off_similarity"] is None or event["best_off_similarity"] < 0.7
    assert "drift-consistent OFF similarity" in event["explanation"]


def test_off_signal_of_the_same_drift_still_vetoes(veto_cadence):
    engine, starts, spec = veto_cadence["engine"], veto_cadence["starts"], veto_cadence["spec"]
    assert not _reported(cadence.search(engine, "veto"), starts["same_drift"], spec)


def test_on_appearances_on_the_drift_track_count_whatever_their_similarity(veto_cadence):
    """A faint track's ON pictures may look less alike than --on-similarity asks; the signal on
    the event's track (drifting like it, where its drift puts it) still counts as its appearance."""
    engine, starts, spec = veto_cadence["engine"], veto_cadence["starts"], veto_cadence["spec"]
    strict = 0.99999  # no two pictures of noise-different scans are this alike
    assert not _reported(cadence.search(engine, "veto", on_similarity=strict, on_track=False),
                         starts["different_drift"], spec)
    found = _reported(cadence.search(engine, "veto", on_similarity=strict), starts["different_drift"], spec)
    assert len(found) == 1 and len(found[0]["on_snippet_ids"]) == 3
    assert "on its drift track" in found[0]["explanation"]


def test_an_event_whose_picture_the_off_scans_show_drifting_otherwise_stays_a_candidate(veto_cadence):
    """The first carrier's picture has drift-consistent lookalikes in the reference observations,
    so the verdict rule alone calls it RFI; but the OFF scans show that picture on its track at
    another drift (the decoy that did not veto it): the cadence leaves it a candidate, and says so."""
    engine, starts, spec = veto_cadence["engine"], veto_cadence["starts"], veto_cadence["spec"]
    rfi.build(engine, min_cluster_size=3)
    [rule] = _reported(cadence.search(engine, "veto", local_rfi=False), starts["different_drift"], spec)
    assert rule["verdict"] in ("likely_rfi", "known_rfi") and rule["n_lookalikes_elsewhere"] >= 2
    assert all(abs(e["f_center_mhz"] - veto_cadence["here_mhz"]) < 0.001 for e in rule["evidence"])
    [event] = _reported(cadence.search(engine, "veto"), starts["different_drift"], spec)
    assert event["verdict"] == "candidate" and not event["likely_rfi"]
    assert "also in an OFF scan near its track" in event["explanation"]
    assert [e["snippet_id"] for e in event["evidence"]] == [e["snippet_id"] for e in rule["evidence"]]


def _judged_event_row(engine, veto_cadence):
    """The first carrier's judged ON snippet, as the verdict rule judged it without the cadence's say."""
    rfi.build(engine, min_cluster_size=3)
    starts, spec = veto_cadence["starts"], veto_cadence["spec"]
    [event] = _reported(cadence.search(engine, "veto", local_rfi=False), starts["different_drift"], spec)
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT e.latent::text AS latent, s.drift_rate_hz_s, s.drift_error_hz_s, s.snr, s.observation_id"
            " FROM snippets s JOIN embeddings e ON e.snippet_id = s.id WHERE s.id = :s"),
            {"s": int(event["judged_snippet_id"])}).one()


def _judge_both(engine, latent: np.ndarray, row, f_mhz: float | None) -> verdicts.Verdict:
    """The Python verdict of ``latent`` with ``row``'s measures at ``f_mhz``, checked against SQL's."""
    [py] = verdicts.judge_vectors(engine, latent, row.drift_rate_hz_s, drift_error_hz_s=row.drift_error_hz_s,
                                  snr=row.snr, observation_id=row.observation_id, f_center_mhz=f_mhz)
    with engine.connect() as conn:
        in_sql = conn.execute(sa.text(
            "SELECT verdict, class_id, evidence FROM rficat_classify(CAST(:v AS vector), NULL, :d, :f, NULL, :e,"
            " :snr, :o)"), {"v": json.dumps(latent.tolist()), "d": row.drift_rate_hz_s, "f": f_mhz,
                            "e": row.drift_error_hz_s, "snr": row.snr, "o": row.observation_id}).one()
    assert (py.verdict, py.class_id) == (in_sql.verdict, in_sql.class_id), f_mhz
    assert [e["snippet_id"] for e in py.evidence] == [e["snippet_id"] for e in in_sql.evidence], f_mhz
    return py


def test_a_drifting_signals_lookalikes_elsewhere_in_the_band_are_no_evidence(veto_cadence):
    """The same picture drifting the same way counts against a drifting signal only at its own
    frequency (the same emitter seen again): at another frequency it is what a technosignature
    looks like too. Python and SQL say the same."""
    engine, spec = veto_cadence["engine"], veto_cadence["spec"]
    row = _judged_event_row(engine, veto_cadence)
    latent = np.array(json.loads(row.latent))
    nowhere = spec.frequency_mhz(ELSEWHERE + 30_000)  # no carrier within 30,000 channels
    judged = {name: _judge_both(engine, latent, row, f_mhz)
              for name, f_mhz in (("here", veto_cadence["here_mhz"]), ("nowhere", nowhere), ("unknown", None))}
    assert judged["here"].verdict in ("likely_rfi", "known_rfi") and len(judged["here"].evidence) >= 2
    for name in ("nowhere", "unknown"):
        assert judged[name].verdict == "candidate" and judged[name].class_id is None, judged[name].explanation
        assert judged[name].evidence == []
    assert "drifting like it at other frequencies" in judged["nowhere"].explanation


def test_the_same_emitter_seen_again_need_not_look_as_alike_as_a_stranger(veto_cadence):
    """At its own frequency a lookalike needs similarity 0.9 (the build's same_emitter_similarity),
    not 0.95: a picture turned away from the evidence until it is 0.91-0.94 alike is still RFI
    there, and nothing elsewhere."""
    engine, spec = veto_cadence["engine"], veto_cadence["spec"]
    row = _judged_event_row(engine, veto_cadence)
    latent = np.array(json.loads(row.latent))
    latent /= np.linalg.norm(latent)
    evidence_ids = [e["snippet_id"] for e in _judge_both(engine, latent, row, veto_cadence["here_mhz"]).evidence]
    with engine.connect() as conn:
        evidence = np.array([json.loads(v) for v in conn.execute(sa.text(
            "SELECT latent::text FROM embeddings WHERE snippet_id = ANY(:ids)"), {"ids": evidence_ids}).scalars()])
    evidence /= np.linalg.norm(evidence, axis=1, keepdims=True)
    # turn the picture along a direction orthogonal to it and to its evidence: every cosine to the
    # evidence shrinks by one factor, the most alike to 0.93
    basis = np.linalg.qr(np.vstack([latent, evidence]).T)[0]
    away = np.random.default_rng(3).normal(size=latent.size)
    away -= basis @ (basis.T @ away)
    alike = evidence @ latent
    factor = 0.93 / alike.max()
    turned = latent + np.sqrt(1 / factor**2 - 1) * away / np.linalg.norm(away)
    similarity = evidence @ turned / np.linalg.norm(turned)
    assert (similarity < 0.95).all() and np.sort(similarity)[-2] >= 0.9, similarity
    here = _judge_both(engine, turned, row, veto_cadence["here_mhz"])
    assert here.verdict in ("likely_rfi", "known_rfi") and len(here.evidence) >= 2, here.explanation
    assert all(e["similarity"] < 0.95 for e in here.evidence)
    assert "at its frequency >= 0.9" in here.explanation
    nowhere = _judge_both(engine, turned, row, spec.frequency_mhz(ELSEWHERE + 30_000))
    assert nowhere.verdict == "candidate" and nowhere.evidence == []
