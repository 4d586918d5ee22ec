"""A cadence event's evidence is pooled over its ON appearances (migration 0023).

An ABACAD cadence (setigen, GBT resolution, fixed seeds) with two ON-only carriers drifting
+1.0 Hz/s, bright (SNR 40) in the first two ON scans and faint (SNR 25) in the third, so each
event is judged on an earlier appearance. Between ON scans each moves 600 Hz, beyond the reach
of "its own frequency" (half its drift span + 128 channels, ~500 Hz). Three reference
observations hold a carrier of the same shape and drift where the first one is in the third ON
scan (the same emitter seen again, but only behind its faint appearance), and one far from both.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from rficat.catalogue import cadence, ingest, rfi
from rficat.store import db
from rficat.synthetic import synth

DRIFT = 1.0
FAR = 60_000  # channel of the reference carrier far from both


@pytest.fixture(scope="module")
def pooled_cadence(server_url, tmp_path_factory):
    directory = tmp_path_factory.mktemp("pooled")
    spec = synth.ObservationSpec(n_coarse_channels=1, seed=23)
    starts = {"seen_again": spec.frequency_mhz(15_000), "unmeasured": spec.frequency_mhz(45_000)}

    def start_of_scan(name: str, position: int) -> float:
        return starts[name] + DRIFT * position * spec.obs_length_s * 1e-6

    paths = []
    for position, letter in enumerate("ABACAD"):
        on = letter == "A"
        scan = replace(spec, source_name="POOL_TARGET" if on else f"POOL_OFF_{letter}",
                       mjd_start=spec.mjd_start + position * spec.obs_length_s / 86400, seed=2300 + position)
        snr = 25.0 if position == 4 else 40.0
        signals = [synth.Signal(start_of_scan(name, position), DRIFT, snr=snr, width_hz=10.0, label=name)
                   for name in starts] if on else []
        path = directory / f"scan{position}_{letter}.h5"
        synth.write_observation(path, scan, signals)
        paths.append(path)
    references = []
    for i in range(3):
        path = directory / f"reference{i}.h5"
        synth.write_observation(path, replace(spec, source_name=f"POOL_REF{i}", mjd_start=spec.mjd_start + 1 + i,
                                              seed=2350 + i),
                                [synth.Signal(f, DRIFT, snr=25.0, width_hz=10.0, label="reference")
                                 for f in (start_of_scan("seen_again", 4), spec.frequency_mhz(FAR))])
        references.append(path)
    with db.scratch_database(server_url, "pooled") as url:
        engine = db.make_engine(url)
        for path in paths + references:
            ingest.ingest_file(engine, path, n_noise_per_channel=2)
        cadence.add_cadence(engine, "pool", paths)
        rfi.build(engine, min_cluster_size=3)
        yield {"engine": engine, "starts": starts, "spec": spec, "faint_mhz": {
            name: start_of_scan(name, 4) + DRIFT * spec.obs_length_s / 2 * 1e-6 for name in starts}}
        engine.dispose()


def _event(engine, spec, f_mhz: float, **options) -> dict:
    reach = 400 * abs(spec.foff_hz) * 1e-6
    found = [e for e in cadence.search(engine, "pool", **options).to_dict("records")
             if abs(e["f_center_mhz"] - f_mhz) <= reach]
    assert len(found) == 1, found
    return found[0]


def _faint_appearance(engine, event: dict, f_mhz: float) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT id FROM snippets WHERE id = ANY(:ids) ORDER BY abs(f_center_mhz - :f)"
                                    " LIMIT 1"), {"ids": [int(i) for i in event["on_snippet_ids"]], "f": f_mhz}).scalar()


def test_the_same_emitter_seen_again_behind_another_on_appearance_makes_the_event_rfi(pooled_cadence):
    engine, spec = pooled_cadence["engine"], pooled_cadence["spec"]
    start = pooled_cadence["starts"]["seen_again"]
    alone = _event(engine, spec, start, pool_evidence=False)
    assert alone["verdict"] == "candidate" and alone["evidence"] == [], alone["explanation"]
    event = _event(engine, spec, start)
    faint = _faint_appearance(engine, event, pooled_cadence["faint_mhz"]["seen_again"])
    assert faint != event["judged_snippet_id"]  # judged on a bright appearance, as before
    assert event["verdict"] == "likely_rfi" and event["likely_rfi"], event["explanation"]
    assert f"pooled over its ON appearances drifting like it (evidence against snippet(s) {faint} too" \
        in event["explanation"]
    assert len({e["observation_id"] for e in event["evidence"]}) == 3
    assert all(abs(e["f_center_mhz"] - pooled_cadence["faint_mhz"]["seen_again"]) < 0.0005
               for e in event["evidence"])
    assert event["n_lookalikes_elsewhere"] == 3


def test_lookalikes_far_from_a_drifting_event_count_against_none_of_its_appearances(pooled_cadence):
    """An appearance whose own drift is poorly measured (here its stored error widened, as a noise
    spike or a gap can) is judged alone as if stationary, with lookalikes from anywhere in the band;
    those say nothing of a drifting event, which keeps its best-measured drift: it stays a candidate."""
    engine, spec = pooled_cadence["engine"], pooled_cadence["spec"]
    start = pooled_cadence["starts"]["unmeasured"]
    before = _event(engine, spec, start)
    assert before["verdict"] == "candidate", before["explanation"]
    faint = _faint_appearance(engine, before, pooled_cadence["faint_mhz"]["unmeasured"])
    with engine.begin() as conn:
        error = conn.execute(sa.text("SELECT drift_error_hz_s FROM snippets WHERE id = :s"), {"s": faint}).scalar()
        conn.execute(sa.text("UPDATE snippets SET drift_error_hz_s = 1.0 WHERE id = :s"), {"s": faint})
    try:
        with engine.connect() as conn:
            alone = conn.execute(sa.text("SELECT verdict, evidence FROM rficat_verdict(:s)"), {"s": faint}).one()
        assert alone.verdict in ("likely_rfi", "known_rfi")
        assert all(abs(e["f_center_mhz"] - pooled_cadence["faint_mhz"]["unmeasured"]) > 0.01 for e in alone.evidence)
        event = _event(engine, spec, start)
        assert faint in event["on_snippet_ids"] and faint != event["judged_snippet_id"]
        assert event["verdict"] == "candidate" and event["evidence"] == [], event["explanation"]
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE snippets SET drift_error_hz_s = :e WHERE id = :s"), {"e": error, "s": faint})
