"""Ingest into the real catalogue: counts, idempotency, concurrency, a killed process, bad files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from rficat import io
from rficat.catalogue import ingest
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
    synth.write_observation(path, spec, synth.random_signals(spec, 30, __import__("numpy").random.default_rng(1)))
    script = textwrap.dedent(f"""
        import sys, time
        from rficat.store import db
        from rficat.catalogue import ingest
        engine = db.make_engine({fresh_db_url!r})
        def progress(n):
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
