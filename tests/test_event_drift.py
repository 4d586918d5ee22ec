"""An event's drift comes from its ON appearances on its track (migration 0027).

An ABACAD cadence (setigen, GBT resolution, fixed seeds). A bright stationary carrier stands in
all six scans (RFI). A faint line drifting -0.9 Hz/s starts on it in the first ON scan, is not
seen in the second (it fades) and is back in the third. In the second ON scan the event's
appearance is then the most similar signal near where the line should be: the bright carrier,
not on the line's track. Taking the event's drift from that appearance (measured best: a steady
carrier's drift is exact) made the carrier's OFF-scan twins "drift like the event" and veto the
line; they drift otherwise.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from rficat.catalogue import cadence, ingest
from rficat.store import db
from rficat.synthetic import synth

DRIFT = -0.9
CARRIER = 40_000  # channel of the stationary carrier


@pytest.fixture(scope="module")
def crossing(server_url, tmp_path_factory):
    directory = tmp_path_factory.mktemp("crossing")
    spec = synth.ObservationSpec(n_coarse_channels=1, seed=37)
    carrier_mhz = spec.frequency_mhz(CARRIER)
    line_start = carrier_mhz - DRIFT * spec.obs_length_s / 2 * 1e-6  # crosses the carrier mid-scan
    paths = []
    for position, letter in enumerate("ABACAD"):
        on = letter == "A"
        elapsed = position * spec.obs_length_s
        scan = replace(spec, source_name="CROSS_TARGET" if on else f"CROSS_OFF_{letter}",
                       mjd_start=spec.mjd_start + elapsed / 86400, seed=3700 + position)
        signals = [synth.Signal(carrier_mhz, 0.0, snr=50.0, width_hz=3.0, label="carrier")]
        if on and position != 2:  # the line fades in the second ON scan
            signals.append(synth.Signal(line_start + DRIFT * elapsed * 1e-6, DRIFT, snr=20.0, width_hz=3.0,
                                        label="line"))
        path = directory / f"scan{position}_{letter}.h5"
        synth.write_observation(path, scan, signals)
        paths.append(path)
    with db.scratch_database(server_url, "crossing") as url:
        engine = db.make_engine(url)
        for path in paths:
            ingest.ingest_file(engine, path, n_noise_per_channel=2)
        cadence.add_cadence(engine, "cross", paths)
        yield {"engine": engine, "line_mhz": line_start + DRIFT * spec.obs_length_s / 2 * 1e-6,
               "channel_mhz": abs(spec.foff_hz) * 1e-6}
        engine.dispose()


def test_an_appearance_off_the_track_does_not_give_the_event_its_drift(crossing):
    events = cadence.search(crossing["engine"], "cross", use_verdicts=False).to_dict("records")
    lines = [e for e in events if abs(e["f_center_mhz"] - crossing["line_mhz"]) <= 16 * crossing["channel_mhz"]]
    assert len(lines) == 1, [(e["f_center_mhz"], e["drift_rate_hz_s"]) for e in events]
    [line] = lines
    assert abs(line["drift_rate_hz_s"] - DRIFT) < 0.05, line["drift_rate_hz_s"]
    assert len(line["on_snippet_ids"]) == 3 and line["off_scans_checked"] == 3
    # the second ON scan's appearance is the carrier (it looks like the line's first picture, which
    # the carrier dominates); its OFF twins, drifting otherwise, no longer veto the line (before
    # 0027 the carrier's drift was the event's: no event, best drift-consistent OFF similarity 0.995)
    with crossing["engine"].connect() as conn:
        second = conn.execute(sa.text("SELECT drift_rate_hz_s FROM snippets WHERE id = :i"),
                              {"i": int(line["on_snippet_ids"][1])}).scalar()
    assert abs(second) < 0.05
    assert "best drift-consistent OFF similarity none near" in line["explanation"]
