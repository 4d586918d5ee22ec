"""An event that drifts within its scans but not across them is likely RFI (migration 0024).

An ABACAD cadence (setigen, GBT resolution, fixed seeds) with two ON-only carriers drifting
+0.3 Hz/s within each scan (32 channels over a scan, 64 between ON scans): one keeps drifting
between scans, as a transmitter at the target does; the other starts each ON scan at the same
frequency, as RFI tied to the receiver or the scan schedule does. Neither has a lookalike
anywhere else, so the verdict rule alone leaves both candidates. A third, stationary, is seen only
in the ON scans; a stationary carrier of the same shape in every scan (vetoed, far away) is its
lookalike in the OFF scans. Two more stay put across the cadence and have no lookalike: a pulsed
carrier and one wandering around its frequency (migration 0031: no drift relative to the
telescope, likely RFI).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import sqlalchemy as sa
from conftest import cli_on

from rficat.catalogue import cadence, ingest, rfi
from rficat.cli import main
from rficat.store import db
from rficat.synthetic import synth

DRIFT = 0.3


@pytest.fixture(scope="module")
def track_cadence(server_url, tmp_path_factory):
    directory = tmp_path_factory.mktemp("cadence_track")
    spec = synth.ObservationSpec(n_coarse_channels=1, seed=31)
    starts = {"steady": spec.frequency_mhz(20_000), "reset": spec.frequency_mhz(40_000),
              "still": spec.frequency_mhz(30_000), "pulsed": spec.frequency_mhz(10_000),
              "wandering": spec.frequency_mhz(48_000)}
    drifts = {"steady": DRIFT, "reset": DRIFT, "still": 0.0, "pulsed": 0.0, "wandering": 0.0}
    shapes = {"pulsed": {"t_profile": "pulsed", "f_profile": "sinc2", "width_hz": 20.0, "period_s": 45.0},
              "wandering": {"path": "wandering", "period_s": 200.0}}

    def start_of_scan(name: str, position: int) -> float:
        moved = DRIFT * position * spec.obs_length_s * 1e-6 if name == "steady" else 0.0
        return starts[name] + moved

    paths = []
    for position, letter in enumerate("ABACAD"):
        on = letter == "A"
        scan = replace(spec, source_name="TRACK_TARGET" if on else f"TRACK_OFF_{letter}",
                       mjd_start=spec.mjd_start + position * spec.obs_length_s / 86400, seed=3100 + position)
        signals = [synth.Signal(start_of_scan(name, position), drifts[name], **{"snr": 40.0, "width_hz": 8.0,
                                                                                **shapes.get(name, {})}, label=name)
                   for name in starts] if on else []
        signals.append(synth.Signal(spec.frequency_mhz(55_000), 0.0, snr=40.0, width_hz=8.0, label="everywhere"))
        path = directory / f"scan{position}_{letter}.h5"
        synth.write_observation(path, scan, signals)
        paths.append(path)
    with db.scratch_database(server_url, "cadence_track") as url:
        engine = db.make_engine(url)
        for path in paths:
            ingest.ingest_file(engine, path, n_noise_per_channel=2)
        cadence.add_cadence(engine, "track", paths)
        rfi.build(engine, min_cluster_size=3)
        yield {"engine": engine, "starts": starts, "spec": spec, "url": url}
        engine.dispose()


def _event(track_cadence: dict, name: str, **options) -> dict:
    spec = track_cadence["spec"]
    reach = 200 * abs(spec.foff_hz) * 1e-6
    found = [e for e in cadence.search(track_cadence["engine"], "track", **options).to_dict("records")
             if abs(e["f_center_mhz"] - track_cadence["starts"][name]) <= reach]
    assert len(found) == 1, found
    return found[0]


def test_a_signal_that_keeps_drifting_between_scans_stays_a_candidate(track_cadence):
    event = _event(track_cadence, "steady")
    assert event["verdict"] == "candidate", event["explanation"]
    assert event["drift_rate_hz_s"] == pytest.approx(DRIFT, abs=0.03)


def test_a_signal_that_starts_each_scan_anew_is_likely_rfi(track_cadence):
    before = _event(track_cadence, "reset", cadence_track=False)
    assert before["verdict"] == "candidate" and before["evidence"] == [], before["explanation"]
    event = _event(track_cadence, "reset")
    assert event["verdict"] == "likely_rfi" and event["likely_rfi"], event["explanation"]
    assert "starts each scan anew" in event["explanation"]
    assert event["n_lookalikes_elsewhere"] == 0  # no lookalike: the cadence itself is the evidence
    listed = [e["snippet_id"] for e in event["evidence"]]
    assert sorted(listed) == sorted(int(i) for i in event["on_snippet_ids"])
    spacing = {round(e["f_center_mhz"], 4) for e in event["evidence"]}
    assert len(spacing) == 1  # one frequency in every ON scan
    assert all(e["drift_rate_hz_s"] == pytest.approx(DRIFT, abs=0.03) for e in event["evidence"])


def test_an_event_that_stays_put_across_the_cadence_pools_evidence_as_a_stationary_signal(track_cadence):
    """Its judged appearance measured drifting a little (here its stored drift set to 0.02 Hz/s, as a
    random-walk carrier's scan can come out), so judged alone it takes evidence only at its own
    frequency, and none is there; another appearance, stationary within its wider tolerance, has
    lookalikes in the OFF scans. Its positions do not move across the cadence, so the event is not
    drifting: that evidence is pooled in."""
    engine = track_cadence["engine"]
    event = _event(track_cadence, "still")
    judged = int(event["judged_snippet_id"])
    other = next(int(i) for i in event["on_snippet_ids"] if int(i) != judged)
    with engine.begin() as conn:
        saved = conn.execute(sa.text("SELECT id, drift_rate_hz_s, drift_error_hz_s FROM snippets WHERE id IN (:a, :b)"),
                             {"a": judged, "b": other}).all()
        conn.execute(sa.text("UPDATE snippets SET drift_rate_hz_s = 0.02, drift_error_hz_s = 0.004 WHERE id = :s"),
                     {"s": judged})
        conn.execute(sa.text("UPDATE snippets SET drift_rate_hz_s = 0.0, drift_error_hz_s = 0.02 WHERE id = :s"),
                     {"s": other})
    try:
        with engine.connect() as conn:
            alone = conn.execute(sa.text("SELECT verdict FROM rficat_verdict(:s)"), {"s": other}).scalar()
        assert alone in ("likely_rfi", "known_rfi")
        before = _event(track_cadence, "still", cadence_track=False, zero_drift=False)
        assert before["verdict"] == "candidate", before["explanation"]
        event = _event(track_cadence, "still")
        assert event["judged_snippet_id"] == judged
        assert event["verdict"] == "likely_rfi", event["explanation"]
        assert f"evidence against snippet(s) {other}" in event["explanation"]
    finally:
        with engine.begin() as conn:
            for sid, drift, error in saved:
                conn.execute(sa.text("UPDATE snippets SET drift_rate_hz_s = :d, drift_error_hz_s = :e WHERE id = :s"),
                             {"d": drift, "e": error, "s": sid})


@pytest.mark.parametrize("name", ["pulsed", "wandering"])
def test_an_on_only_signal_that_stays_put_across_the_cadence_is_likely_rfi(track_cadence, name):
    """No lookalike anywhere, so the rule alone leaves it a candidate; it does not move across the
    cadence (no drift relative to the telescope), so since migration 0031 it is likely RFI, its
    ON appearances the evidence."""
    before = _event(track_cadence, name, zero_drift=False)
    assert before["verdict"] == "candidate" and before["n_lookalikes_elsewhere"] == 0, before["explanation"]
    event = _event(track_cadence, name)
    assert event["verdict"] == "likely_rfi" and event["likely_rfi"], event["explanation"]
    assert "stay put across the cadence" in event["explanation"] and "no drift relative to the telescope" in event["explanation"]
    assert sorted(e["snippet_id"] for e in event["evidence"]) == sorted(int(i) for i in event["on_snippet_ids"])
    assert len(event["evidence"]) == 3


def test_the_cli_can_keep_zero_drift_events(track_cadence, monkeypatch, capsys):
    """``rficat cadence search --keep-zero-drift`` (data corrected for the Earth's motion, where a
    transmitter at rest does not drift): the stationary ON-only events are left to the other rules."""
    capsys = cli_on(track_cadence["url"], monkeypatch, capsys)

    def verdict_of(*options: str) -> str:
        assert main(["cadence", "search", "track", "--json", *options]) == 0
        rows = json.loads(capsys.readouterr().out)
        reach = 200 * abs(track_cadence["spec"].foff_hz) * 1e-6
        [row] = [r for r in rows if abs(r["f_center_mhz"] - track_cadence["starts"]["pulsed"]) <= reach]
        return row["verdict"]

    assert verdict_of() == "likely_rfi"
    assert verdict_of("--keep-zero-drift") == "candidate"
