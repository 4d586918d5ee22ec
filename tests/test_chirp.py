"""A chirp's path bends: measured on stored pictures of a real GBT observation (``rfi build`` joins
classes most of whose members chirp, whatever their fitted drift).

setigen's real GBT C-band file (32 integrations x 1024 channels of 1.4 Hz, real radiometer
noise) with three signals injected by setigen: a chirp sweeping 60 channels along a parabola, a
straight line drifting 60 channels over the scan, and a stationary line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rficat.catalogue import ingest, rfi, search
from rficat.science import measures
from rficat.store import db

SWEEP_CHANNELS = 60
CHANNELS = {"chirp": 350, "straight": 600, "stationary": 880}  # file channels at the start (clear of the ~220 feature)


@pytest.fixture(scope="module")
def chirp_catalogue(server_url, tmp_path_factory):
    import setigen as stg
    from astropy import units as u

    frame = stg.Frame(waterfall=str(Path(stg.__file__).parent / "assets" / "sample.fil"))
    scan_s, level = frame.tchans * frame.dt, frame.get_intensity(snr=60.0)
    sweep_hz = SWEEP_CHANNELS * frame.df
    start = {name: frame.get_frequency(frame.fchans - 1 - channel) for name, channel in CHANNELS.items()}
    paths = {"chirp": lambda t: start["chirp"] + sweep_hz * (t / scan_s) ** 2,
             "straight": stg.constant_path(f_start=start["straight"], drift_rate=sweep_hz / scan_s * u.Hz / u.s),
             "stationary": stg.constant_path(f_start=start["stationary"], drift_rate=0 * u.Hz / u.s)}
    for path in paths.values():
        frame.add_signal(path, stg.constant_t_profile(level=level), stg.gaussian_f_profile(width=5 * u.Hz),
                         stg.constant_bp_profile(level=1))
    file = tmp_path_factory.mktemp("chirp") / "chirp.fil"
    frame.save_fil(str(file))
    middle = {"chirp": start["chirp"] + sweep_hz / 4, "straight": start["straight"] + sweep_hz / 2,
              "stationary": start["stationary"]}
    with db.scratch_database(server_url, "chirp") as url:
        engine = db.make_engine(url)
        ingest.ingest_file(engine, file, n_noise_per_channel=2)
        yield engine, {name: f / 1e6 for name, f in middle.items()}, frame.df
        engine.dispose()


def test_a_chirp_bends_and_straight_lines_do_not(chirp_catalogue):
    engine, middle, channel_hz = chirp_catalogue
    rows = db.query_frame(engine, "SELECT id, f_center_mhz FROM snippets WHERE is_signal", {}, ["id", "f_center_mhz"])
    bending = {}
    for name, f in middle.items():
        near = rows[(rows.f_center_mhz - f).abs() <= 64 * channel_hz * 1e-6]
        assert len(near) >= 1, (name, rows)
        bending[name] = measures.chirping(search.match_snippets(engine, near.id.to_numpy()))
    assert (bending["chirp"] > measures.CHIRPING).all(), bending
    assert (bending["straight"] <= measures.CHIRPING).all() and (bending["stationary"] <= measures.CHIRPING).all(), bending


def test_classes_that_chirp_are_joined_whatever_their_drift():
    """rfi.join_chirps: groups most of whose members chirp become one (a chirp caught early or late
    in its sweep, up or down); groups few of whose members chirp stay apart."""
    groups = [np.arange(0, 6), np.arange(6, 12), np.arange(12, 18), np.arange(18, 24)]
    chirp = np.array([1] * 6 + [1, 1, 1, 0, 0, 0] + [1, 0, 0, 0, 0, 0] + [0] * 6, bool)
    joined = rfi.join_chirps(groups, chirp)
    assert sorted(sorted(set(g // 6)) for g in joined) == [[0, 1], [2], [3]]
    assert len(rfi.join_chirps(groups[1:], chirp)) == 3  # one chirp class: nothing to join
