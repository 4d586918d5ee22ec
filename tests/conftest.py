"""One real embedded PostgreSQL (with pgvector) for the whole test session.

``RFICAT_HOME`` points at a temporary directory, so the CLI's default (embedded) path is the
one under test. Tests that need an empty database get their own with ``fresh_db_url``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from rficat.config import load_settings
from rficat.store import db


def reachable_directory(prefix: str) -> Path:
    """A new directory that the embedded server's own user can enter when the tests run as root
    (pytest's temporary directories are private, and rficat refuses rather than widen them)."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o711)
    return base


@pytest.fixture(scope="session")
def rficat_home() -> Iterator:
    base = reachable_directory("rficat-tests-")
    home = base / "home"
    old = {k: os.environ.get(k) for k in ("RFICAT_HOME", "RFICAT_DATABASE_URL")}
    os.environ["RFICAT_HOME"] = str(home)
    os.environ.pop("RFICAT_DATABASE_URL", None)
    yield home
    db.stop_embedded(load_settings())
    shutil.rmtree(base, ignore_errors=True)
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def server_url(rficat_home) -> str:
    """SQLAlchemy URL of the embedded server's `postgres` database (superuser)."""
    return db._with_database(db.start_embedded(load_settings()), "postgres")


@pytest.fixture(scope="session")
def catalogue(rficat_home) -> Iterator[db.Catalogue]:
    """The default embedded catalogue, initialised once."""
    cat = db.init_catalogue(load_settings())
    yield cat
    cat.dispose()


@pytest.fixture
def fresh_db_url(server_url: str) -> Iterator[str]:
    """An empty database of its own on the session server, dropped afterwards."""
    with db.scratch_database(server_url, "t", migrate_schema=False) as url:
        yield url


def cli_on(url: str, monkeypatch, capsys):
    """The CLI pointed at the database ``url`` for one test; returns ``capsys`` with its buffers empty."""
    monkeypatch.setenv("RFICAT_DATABASE_URL", url)
    capsys.readouterr()
    return capsys


@pytest.fixture
def fresh_engine(fresh_db_url: str) -> Iterator[sa.Engine]:
    engine = db.make_engine(fresh_db_url)
    yield engine
    engine.dispose()


def insert_snippets(conn, n: int) -> list[int]:
    """n signal snippet rows (1-byte arrays) of a new observation, on any schema revision; their ids."""
    obs_id = conn.execute(sa.text(
        "INSERT INTO observations (path, fingerprint, f_min_mhz, f_max_mhz, fch1_mhz, foff_mhz, tsamp_s,"
        " n_channels, n_integrations, header) VALUES ('/x.h5', md5(random()::text), 1, 2, 2, -1, 1, 1, 16, '{}')"
        " RETURNING id")).scalar_one()
    inline = conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM information_schema.columns"
                                  " WHERE table_name = 'snippets' AND column_name = 'data')")).scalar_one()
    ids = list(conn.execute(sa.text(
        "INSERT INTO snippets (observation_id, coarse_channel, chan_start, chan_stop, f_start_mhz, f_stop_mhz,"
        f" f_center_mhz, statistic, is_signal{', data' if inline else ''})"
        f" SELECT :obs, 0, g * 256, g * 256 + 256, 1, 2, 1.5, 1000, true{', CAST(:a AS bytea)' if inline else ''}"
        " FROM generate_series(1, :n) g RETURNING id"), {"obs": obs_id, "n": n, "a": b"\0"}).scalars())
    if not inline:  # from migration 0016 on, arrays have their own table
        conn.execute(sa.text("INSERT INTO snippet_arrays (snippet_id, data) SELECT i, CAST(:a AS bytea)"
                             " FROM unnest(CAST(:ids AS bigint[])) i"), {"ids": ids, "a": b"\0"})
    return ids


# --- synthetic observations ----------------------------------------------------------------------

@pytest.fixture(scope="session")
def observation(tmp_path_factory):
    """A 4-coarse-channel GBT-like observation with 40 signals (SNR 20-70), as .h5 and .fil."""
    import numpy as np

    from rficat.synthetic import synth

    directory = tmp_path_factory.mktemp("obs")
    spec = synth.ObservationSpec(n_coarse_channels=4, seed=3)
    signals = synth.random_signals(spec, 40, np.random.default_rng(5))
    truth = synth.write_observation(directory / "obs.h5", spec, signals)
    synth.write_observation(directory / "obs.fil", spec, signals)
    return {"h5": directory / "obs.h5", "fil": directory / "obs.fil", "truth": truth, "spec": spec}


def _prefect_console_to_real_stderr() -> None:
    """Prefect's console handler keeps the ``sys.stderr`` of its first configuration, which under
    pytest is a capture stream that is closed later; point it at the process's stderr (fd 2, which
    pytest still captures per test)."""
    import logging
    import sys

    import prefect.main  # noqa: F401  (configures Prefect's logging, on first import only)
    from prefect.logging.handlers import PrefectConsoleHandler

    for name in ("", "prefect"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.setStream(sys.__stderr__)
                handler.console.file = sys.__stderr__


@pytest.fixture(scope="session")
def prefect_harness():
    """One temporary Prefect server (SQLite) for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    _prefect_console_to_real_stderr()
    with prefect_test_harness(server_startup_timeout=120):
        yield


# --- a real Breakthrough Listen file -------------------------------------------------------------

REAL_GBT_INJECTED = {"file_channel": 760, "drift_hz_s": -1.5, "snr": 50.0, "width_hz": 6.0}


@pytest.fixture(scope="session")
def real_gbt(tmp_path_factory):
    """setigen's real GBT C-band file (``setigen/assets/sample.fil``: 32 integrations x 1024
    channels of 1.4 Hz, DIAG_SGR_B2), as shipped; converted to .h5 by blimpy; rewritten as .fil by
    blimpy and by setigen's ``Frame.save_fil``; and with a drifting signal injected by setigen
    into the real frame (.fil, and its blimpy .h5), clear of the file's own feature near
    channel 220. ``truth`` holds the injected signal's mid-scan frequency and drift."""
    from pathlib import Path

    import blimpy
    import setigen as stg
    from astropy import units as u

    directory = tmp_path_factory.mktemp("gbt")
    shipped = Path(stg.__file__).parent / "assets" / "sample.fil"
    files = {"shipped": shipped, "blimpy_h5": directory / "sample.h5", "blimpy_fil": directory / "blimpy.fil",
             "setigen_fil": directory / "setigen.fil", "injected_fil": directory / "injected.fil",
             "injected_h5": directory / "injected.h5"}
    blimpy.Waterfall(str(shipped)).write_to_hdf5(str(files["blimpy_h5"]))
    blimpy.Waterfall(str(shipped)).write_to_fil(str(files["blimpy_fil"]))
    stg.Frame(waterfall=str(shipped)).save_fil(str(files["setigen_fil"]))

    frame = stg.Frame(waterfall=str(shipped))
    # setigen counts channels upward in frequency; the file's foff is negative
    f_start_hz = frame.get_frequency(frame.fchans - 1 - REAL_GBT_INJECTED["file_channel"])
    drift = REAL_GBT_INJECTED["drift_hz_s"]
    frame.add_signal(stg.constant_path(f_start=f_start_hz, drift_rate=drift * u.Hz / u.s),
                     stg.constant_t_profile(level=frame.get_intensity(snr=REAL_GBT_INJECTED["snr"])),
                     stg.gaussian_f_profile(width=REAL_GBT_INJECTED["width_hz"] * u.Hz),
                     stg.constant_bp_profile(level=1))
    frame.save_fil(str(files["injected_fil"]))
    blimpy.Waterfall(str(files["injected_fil"])).write_to_hdf5(str(files["injected_h5"]))
    truth = {"f_mid_mhz": (f_start_hz + drift * frame.tchans * frame.dt / 2) / 1e6, "drift_hz_s": drift,
             "channel_hz": frame.df}
    return {**files, "truth": truth}


# --- turboSETI's own output ----------------------------------------------------------------------

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def turboseti_run(tmp_path_factory):
    """Real turboSETI output, made once per session: a small synthetic ABACAD cadence
    (``synth.demo_cadence``: stationary RFI in every scan, drifting signals in the ON scans) and
    one scan with a fast drifter (3.5 Hz/s, ~370 channels over the scan; bright, because its power is
    Doppler-smeared over ~23 channels per integration as a real one's is), each searched by
    turboSETI's ``FindDoppler`` (max drift 4 Hz/s, SNR 10), and ``find_event_pipeline``'s event
    CSVs at filter levels 2 and 3. turboSETI needs the numpy-2 fix in benchmarks/_turboseti.py."""
    import sys
    from dataclasses import replace

    from turbo_seti.find_event.find_event_pipeline import find_event_pipeline

    from rficat.synthetic import synth

    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    from benchmarks._turboseti import patched_find_doppler

    directory = tmp_path_factory.mktemp("turboseti")
    spec = synth.ObservationSpec(n_coarse_channels=1, seed=7)
    scans = synth.demo_cadence(directory / "cadence", spec=spec, n_rfi=6, n_eti=2, seed=1)
    fast_spec = replace(spec, source_name="FAST", seed=8)
    fast_signal = synth.Signal(f_start_mhz=float(fast_spec.frequency_mhz(20000)), drift_hz_s=-3.5, snr=1500.0,
                               width_hz=20.0, label="fast")
    fast_path = directory / "fast" / "fast.h5"
    fast_path.parent.mkdir()
    fast_truth = synth.write_observation(fast_path, fast_spec, [fast_signal])
    find_doppler = patched_find_doppler()
    dat_dir = directory / "dat"
    dat_dir.mkdir()
    for path in [p for p, _, _ in scans] + [fast_path]:
        find_doppler(str(path), max_drift=4, snr=10, out_dir=str(dat_dir), log_level_int=40,
                     n_coarse_chan=1).search(n_partitions=1)
    dats = [dat_dir / (p.stem + ".dat") for p, _, _ in scans]
    empty_dir = directory / "empty"  # the same scan searched above any SNR it has: a table with no hits
    empty_dir.mkdir()
    find_doppler(str(fast_path), max_drift=4, snr=1e6, out_dir=str(empty_dir), log_level_int=40,
                 n_coarse_chan=1).search(n_partitions=1)
    (dat_dir / "dats.lst").write_text("\n".join(map(str, dats)) + "\n")
    (dat_dir / "h5s.lst").write_text("\n".join(str(p) for p, _, _ in scans) + "\n")
    events = {}
    for level in (2, 3):
        events[level] = dat_dir / f"events_f{level}.csv"
        find_event_pipeline(str(dat_dir / "dats.lst"), str(dat_dir / "h5s.lst"), filter_threshold=level,
                            number_in_cadence=6, saving=True, csv_name=str(events[level]), user_validation=False)
    return {"scans": scans, "dats": dats, "events": events, "spec": spec, "dat_dir": dat_dir,
            "empty_dat": empty_dir / "fast.dat",
            "fast": {"path": fast_path, "dat": dat_dir / "fast.dat", "truth": fast_truth, "spec": fast_spec}}
