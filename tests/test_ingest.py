"""Ingest into the real catalogue: counts, idempotency, concurrency, a killed process, bad files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sqlalchemy as sa

from rficat import io
from rficat.catalogue import files, ingest
from rficat.errors import RficatError
from rficat.science import detect, model
from rficat.store import db
from rficat.synthetic import synth


@pytest.fixture
def engine(fresh_db_url):
    engine = db.make_engine(fresh_db_url)
    db.migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    """A small untrained encoder saved to disk: ingest mechanics do not depend on its quality."""
    path = tmp_path_factory.mktemp("model") / "m"
    return model.save_model(path, model.build_encoder(4), model.ModelMetadata("ingest-test", latent_dim=4))


def count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def test_counts_equal_the_detector(engine, observation, small_model):
    summary = ingest.ingest_file(engine, observation["h5"], model=small_model, n_noise_per_channel=5)
    hits = [h for _, _, r in detect.detect_file(observation["h5"], n_noise_per_channel=5) for h in r.hits]
    assert summary.status == "ingested"
    assert summary.n_signal == sum(h.is_signal for h in hits) == len(observation["truth"])
    assert summary.n_noise == 4 * 5
    assert count(engine, "SELECT count(*) FROM snippets WHERE is_signal") == summary.n_signal
    assert count(engine, "SELECT count(*) FROM snippets WHERE NOT is_signal") == summary.n_noise
    assert count(engine, "SELECT count(*) FROM embeddings") == summary.n_snippets
    assert count(engine, "SELECT count(*) FROM embeddings WHERE vector_dims(latent) = 4") == summary.n_snippets
    with engine.connect() as conn:
        obs = conn.execute(sa.text("SELECT * FROM observations")).mappings().one()
    assert obs["status"] == "complete" and obs["source_name"] == "SYNTH_TARGET"
    assert obs["fingerprint"] == io.fingerprint(observation["h5"])
    stored = sorted(round(f, 9) for f in (h.f_center_mhz for h in hits))
    with engine.connect() as conn:
        in_db = sorted(round(f, 9) for f in conn.execute(sa.text("SELECT f_center_mhz FROM snippets")).scalars())
    assert stored == in_db


def test_second_ingest_is_skipped(engine, observation, small_model):
    first = ingest.ingest_file(engine, observation["h5"], model=small_model)
    second = ingest.ingest_file(engine, observation["h5"], model=small_model)
    assert (first.status, second.status) == ("ingested", "skipped")
    assert second.observation_id == first.observation_id
    assert count(engine, "SELECT count(*) FROM observations") == 1
    assert count(engine, "SELECT count(*) FROM snippets") == first.n_snippets


def test_concurrent_ingests_leave_one_copy(engine, observation, small_model):
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: ingest.ingest_file(engine, observation["h5"], model=small_model), range(2)))
    assert sorted(r.status for r in results) == ["ingested", "skipped"]
    assert count(engine, "SELECT count(*) FROM observations") == 1
    assert count(engine, "SELECT count(*) FROM snippets") == max(r.n_snippets for r in results)


def test_new_model_encodes_stored_snippets_without_the_file(engine, observation, small_model, tmp_path):
    first = ingest.ingest_file(engine, observation["h5"], model=small_model)
    other = model.save_model(tmp_path / "other", model.build_encoder(6), model.ModelMetadata("other", latent_dim=6))
    copy = tmp_path / "same-content.h5"  # the file moved: found by fingerprint, never re-read
    copy.write_bytes(observation["h5"].read_bytes())
    again = ingest.ingest_file(engine, copy, model=other)
    assert again.status == "encoded" and again.observation_id == first.observation_id
    assert count(engine, "SELECT count(*) FROM embeddings WHERE vector_dims(latent) = 6") == first.n_snippets
    assert count(engine, "SELECT count(*) FROM snippets") == first.n_snippets


def test_killed_ingest_leaves_nothing_and_rerun_completes(engine, fresh_db_url, tmp_path, small_model):
    spec = synth.ObservationSpec(n_coarse_channels=6, seed=21)
    path = tmp_path / "big.h5"
    synth.write_observation(path, spec, synth.random_signals(spec, 30, np.random.default_rng(1)))
    script = textwrap.dedent(f"""
        import sys, time
        from rficat.store import db
        from rficat.catalogue import ingest
        engine = db.make_engine({fresh_db_url!r})
        def progress(n_bytes, n_snippets):
            print("block stored", flush=True)
            time.sleep(60)
        ingest.ingest_file(engine, {str(path)!r}, model={str(small_model)!r}, progress=progress)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "block stored"
        with engine.connect() as conn:  # the killed ingest's rows exist only inside its transaction
            assert conn.execute(sa.text("SELECT count(*) FROM snippets")).scalar() == 0
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert count(engine, "SELECT count(*) FROM observations") == 0
    assert count(engine, "SELECT count(*) FROM snippets") == 0
    summary = ingest.ingest_file(engine, path, model=small_model)
    assert summary.status == "ingested" and summary.n_signal == 30
    assert count(engine, "SELECT count(*) FROM snippets") == 30


def test_corrupt_file_writes_nothing(engine, tmp_path, small_model):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not hdf5" * 100)
    with pytest.raises(RficatError, match="bad.h5"):
        ingest.ingest_file(engine, bad, model=small_model)
    assert count(engine, "SELECT count(*) FROM observations") == 0


# --- real files -------------------------------------------------------------------------------------

def test_real_gbt_file_with_an_injected_signal(engine, real_gbt, small_model):
    """The real GBT frame with a setigen signal, as .fil and as blimpy's .h5: both stored, with the
    pointing in degrees, and the signal at its frequency and drift (32 integrations, 16 bins)."""
    truth = real_gbt["truth"]
    for kind in ("injected_fil", "injected_h5"):
        summary = ingest.ingest_file(engine, real_gbt[kind], model=small_model)
        assert summary.status == "ingested" and summary.bad_fraction == 0
        with engine.connect() as conn:
            obs = conn.execute(sa.text("SELECT * FROM observations WHERE id = :i"),
                               {"i": summary.observation_id}).mappings().one()
            rows = conn.execute(sa.text("SELECT f_center_mhz, drift_rate_hz_s FROM snippets WHERE observation_id = :i"
                                        " AND abs(f_center_mhz - :f) * 1e6 < :tol"),
                                {"i": summary.observation_id, "f": truth["f_mid_mhz"],
                                 "tol": 10 * truth["channel_hz"]}).all()
        assert obs["ra_deg"] == pytest.approx(266.8125) and obs["dec_deg"] == pytest.approx(-28.3831)
        assert obs["n_integrations"] == 32 and obs["detection"]["time_bin_s"] == pytest.approx(2 * 1.4316557)
        assert obs["header"]["src_raj"] == pytest.approx(17.7875) and obs["fingerprint"].startswith("xxh3-128:")
        assert len(rows) == 1 and rows[0].drift_rate_hz_s == pytest.approx(truth["drift_hz_s"], rel=0.1)
    assert count(engine, "SELECT count(*) FROM observations") == 2


# --- fingerprints -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def twin_files(tmp_path_factory):
    """Two 64 MiB .fil files of the same size and header that differ in one 64 KiB block, a bright
    pulse placed between the blocks the old sampled fingerprint read."""
    directory = tmp_path_factory.mktemp("twins")
    spec = synth.ObservationSpec(n_coarse_channels=1, coarse_channel_width=1 << 20, seed=8)
    a = directory / "a.fil"
    synth.write_observation(a, spec)
    raw = bytearray(a.read_bytes())
    sample = 1 << 20
    offsets = np.linspace(0, len(raw) - sample, 18).astype(np.int64)
    gap_start = int(offsets[8]) + sample
    start = gap_start + (int(offsets[9]) - gap_start) // 2
    start -= (start - (len(raw) - spec.n_integrations * spec.n_channels * 4)) % 4  # whole float32 samples
    raw[start:start + (64 << 10)] = np.full(16 << 10, 1e4, np.float32).tobytes()
    b = directory / "b.fil"
    b.write_bytes(bytes(raw))
    return a, b


def test_files_differing_in_one_block_are_both_stored(engine, twin_files, small_model):
    a, b = twin_files
    assert a.stat().st_size == b.stat().st_size and io.read_header(a).raw == io.read_header(b).raw
    assert io.sampled_fingerprint(a) == io.sampled_fingerprint(b)  # what used to skip the second file
    assert io.fingerprint(a) != io.fingerprint(b)
    first = ingest.ingest_file(engine, a, model=small_model)
    second = ingest.ingest_file(engine, b, model=small_model)
    assert (first.status, second.status) == ("ingested", "ingested")
    assert second.n_signal > first.n_signal  # the pulse is found
    assert second.seconds["hash"] > 0
    assert count(engine, "SELECT count(*) FROM observations WHERE fingerprint_kind = 'xxh3-128'") == 2


def test_a_file_seen_before_is_known_without_reading_it(engine, observation, small_model, tmp_path):
    path = tmp_path / "obs.h5"
    path.write_bytes(observation["h5"].read_bytes())
    first = ingest.ingest_file(engine, path, model=small_model)
    with db.raw_connection(engine) as conn, conn.cursor() as cur:
        seen = files.identify(cur, path)
        assert (seen.observation_id, seen.hashed) == (first.observation_id, False)
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # touched: hash again
        seen = files.identify(cur, path)
        assert (seen.observation_id, seen.hashed) == (first.observation_id, True)
        conn.commit()
    with db.raw_connection(engine) as conn, conn.cursor() as cur:
        assert files.identify(cur, path).hashed is False  # the new time was recorded
    again = ingest.ingest_file(engine, path, model=small_model)
    assert again.status == "skipped" and again.seconds["hash"] == 0


def test_sampled_fingerprints_are_rehashed_when_the_file_is_seen(engine, twin_files, small_model):
    """Rows of catalogues made before whole-file hashing keep their sampled fingerprint until their
    file is seen; a different file with the same samples is then stored, not skipped."""
    a, b = twin_files
    first = ingest.ingest_file(engine, a, model=small_model)
    with engine.begin() as conn:  # as migration 0008 leaves a row stored before it
        conn.execute(sa.text("UPDATE observations SET fingerprint = :fp, fingerprint_kind = 'sampled-sha256',"
                             " file_size = NULL, file_mtime_ns = NULL"), {"fp": io.sampled_fingerprint(a)})
    assert files.fingerprint_status(engine)["sampled_fingerprints"] == 1
    second = ingest.ingest_file(engine, b, model=small_model)  # same samples, other data
    assert second.status == "ingested" and second.observation_id != first.observation_id
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT id, fingerprint FROM observations")).all())
    assert rows == {first.observation_id: io.fingerprint(a), second.observation_id: io.fingerprint(b)}
    assert files.fingerprint_status(engine)["sampled_fingerprints"] == 0
    assert ingest.ingest_file(engine, a, model=small_model).status == "skipped"


def test_db_status_counts_sampled_fingerprints_of_missing_files(engine, observation, small_model, tmp_path):
    path = tmp_path / "gone.h5"
    path.write_bytes(observation["h5"].read_bytes())
    ingest.ingest_file(engine, path, model=small_model)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE observations SET fingerprint = 'sha256:old', fingerprint_kind = 'sampled-sha256'"))
    path.unlink()
    status = files.fingerprint_status(engine)
    assert status == {"observations": 1, "sampled_fingerprints": 1, "sampled_fingerprints_file_missing": 1,
                      "files_missing": 1, "failed_files": 0}


# --- bad samples -------------------------------------------------------------------------------------

def _with_bad_integration(path, spec, integration, value):
    """Overwrite one integration of a .fil file with ``value`` (inf, NaN)."""
    data_bytes = spec.n_integrations * spec.n_channels * 4
    offset = path.stat().st_size - data_bytes
    data = np.memmap(path, dtype="<f4", mode="r+", offset=offset, shape=(spec.n_integrations, spec.n_channels))
    data[integration] = value
    data.flush()
    del data


@pytest.mark.parametrize("n_integrations", [16, 32])
def test_one_inf_integration_loses_nothing_else(engine, tmp_path, small_model, caplog, n_integrations):
    spec = synth.ObservationSpec(n_coarse_channels=2, n_integrations=n_integrations, seed=12)
    # drifts that stay within a 256-channel window over the longer scan too
    signals = synth.random_signals(spec, 12, np.random.default_rng(4), drift=(-1, 1))
    clean, path = tmp_path / "clean.fil", tmp_path / "inf.fil"
    truth = synth.write_observation(clean, spec, signals)
    path.write_bytes(clean.read_bytes())
    _with_bad_integration(path, spec, 5, np.inf)

    def found(file) -> list[int]:
        hits = [h for _, _, r in detect.detect_file(file, coarse_channel_width=spec.coarse_channel_width)
                for h in r.hits]
        return [i for i, row in enumerate(truth) if any(h.chan_start <= row["channel"] < h.chan_stop for h in hits)]

    assert found(path) == found(clean) == list(range(len(truth)))
    with caplog.at_level("WARNING"):
        summary = ingest.ingest_file(engine, path, model=small_model, coarse_channel_width=spec.coarse_channel_width)
    assert summary.n_signal == len(truth)
    assert summary.bad_fraction == pytest.approx(1 / n_integrations)
    assert "NaN or infinite" in caplog.text
    with engine.connect() as conn:
        detection = conn.execute(sa.text("SELECT detection FROM observations")).scalar_one()
    assert detection["n_bad_samples"] == spec.n_channels


def test_all_nan_file_is_refused(engine, tmp_path, small_model, capsys):
    from rficat.cli import main

    spec = synth.ObservationSpec(n_coarse_channels=1, coarse_channel_width=4096, seed=1)
    path = tmp_path / "nan.fil"
    synth.write_observation(path, spec)
    for integration in range(spec.n_integrations):
        _with_bad_integration(path, spec, integration, np.nan)
    with pytest.raises(RficatError, match="nan.fil: no usable data"):
        ingest.ingest_file(engine, path, model=small_model)
    assert count(engine, "SELECT count(*) FROM observations") == 0
    assert count(engine, "SELECT count(*) FROM ingest_failures WHERE error LIKE '%no usable data%'") == 1
    assert main(["detect", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rficat: error:") and "no usable data" in err[0]


# --- files that failed --------------------------------------------------------------------------------

def test_a_failed_file_is_retried_only_when_it_changes(engine, tmp_path, small_model):
    bad = tmp_path / "junk.h5"
    bad.write_bytes(b"not hdf5" * 100)
    spec = synth.ObservationSpec(n_coarse_channels=1, coarse_channel_width=4096, seed=1)
    nan = tmp_path / "nan.fil"
    synth.write_observation(nan, spec)
    for integration in range(spec.n_integrations):
        _with_bad_integration(nan, spec, integration, np.nan)
    for path in (bad, nan):
        with pytest.raises(RficatError):
            ingest.ingest_file(engine, path, model=small_model)
    unchanged = files.unchanged_failures(engine, [str(bad), str(nan)])
    assert set(unchanged) == {str(bad), str(nan)} and "junk.h5" in unchanged[str(bad)]
    later = bad.stat().st_mtime_ns + 10**9
    for path in (bad, nan):
        os.utime(path, ns=(later, later))
    # touched: the junk file (which failed before it was hashed) is retried; the NaN file's bytes
    # are the same as when it failed (its fingerprint was recorded), so it is not
    assert set(files.unchanged_failures(engine, [str(bad), str(nan)])) == {str(nan)}
    with pytest.raises(RficatError):
        ingest.ingest_file(engine, bad, model=small_model)
    assert count(engine, "SELECT attempts FROM ingest_failures WHERE path = :p", p=str(bad.resolve())) == 2
    synth.write_observation(bad, synth.ObservationSpec(n_coarse_channels=1, seed=2))  # fixed in place
    assert files.unchanged_failures(engine, [str(bad)]) == {}
    assert ingest.ingest_file(engine, bad, model=small_model).status == "ingested"
    assert count(engine, "SELECT count(*) FROM ingest_failures") == 1  # only the NaN file


def test_a_fast_drifter_is_stored_with_its_drift_and_dedrift(engine, tmp_path, small_model):
    """A 6 Hz/s signal next to a stationary one: both stored, the fast one's snippet dedrifted by
    its drift (recorded), the stationary one's as observed (0)."""
    spec = synth.ObservationSpec(n_coarse_channels=1, seed=12)
    fast_f = float(spec.frequency_mhz(20_000))
    signals = [synth.Signal(f_start_mhz=fast_f - 6.0 * spec.obs_length_s / 2 * 1e-6, drift_hz_s=6.0, snr=40),
               synth.Signal(f_start_mhz=float(spec.frequency_mhz(40_000)), drift_hz_s=0.0, snr=40)]
    path = tmp_path / "fast.h5"
    synth.write_observation(path, spec, signals)
    ingest.ingest_file(engine, path, model=small_model)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT f_center_mhz, drift_rate_hz_s, dedrift_hz_s FROM snippets"
                                    " ORDER BY dedrift_hz_s")).all()
        detection = conn.execute(sa.text("SELECT detection FROM observations")).scalar_one()
    assert len(rows) == 2
    (_, still_drift, still_dedrift), (f_center, drift, dedrift) = rows
    assert still_dedrift == 0 and abs(still_drift) < 0.1
    assert drift == pytest.approx(6.0, rel=0.05) and dedrift == drift
    assert f_center == pytest.approx(fast_f, abs=16 * abs(spec.foff_hz) * 1e-6)  # within 16 channels
    assert detection["max_drift_hz_s"] == detect.DEFAULT_MAX_DRIFT_HZ_S
    assert 2.0 < detection["dedrift_min_hz_s"] < 2.5
