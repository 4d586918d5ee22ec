"""Ingest fanned out on Dask through Prefect's Dask task runner: a real 2-process local cluster
gives the serial ingest's rows, two workers racing on identical files keep one copy, and a
worker killed (SIGKILL) mid-file leaves nothing of that file; a rerun completes it."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time

import numpy as np
import psutil
import pytest
import sqlalchemy as sa

from rficat.cli import load_flows, main
from rficat.store import db
from rficat.synthetic import synth

NOISE = 10  # noise windows stored per coarse channel: more encoding per file


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    """Five 4-coarse-channel scans, plus a byte-identical copy of the first under another name."""
    directory = tmp_path_factory.mktemp("landing")
    for i in range(5):
        spec = synth.ObservationSpec(n_coarse_channels=4, seed=i, fch1_mhz=2000.0 + 10 * i)
        synth.write_observation(directory / f"scan{i}.h5", spec,
                                synth.random_signals(spec, 30, np.random.default_rng(100 + i)))
    shutil.copyfile(directory / "scan0.h5", directory / "scan0-copy.h5")
    return directory


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE}


def _no_new_children(before: set[int], wait_s: float = 15.0) -> list[str]:
    """Processes started since ``before`` that are still alive (after ``wait_s``), by command line;
    multiprocessing's resource tracker is Python's own, one per process for its whole life."""
    deadline = time.monotonic() + wait_s
    while True:
        left = []
        for pid in _children() - before:
            try:
                command = " ".join(psutil.Process(pid).cmdline())
            except psutil.Error:
                continue
            if "resource_tracker" not in command:
                left.append(command)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def snapshot(url: str) -> tuple[list[tuple], np.ndarray, dict[str, int]]:
    """Every snippet (by its file's fingerprint and its own attributes and array hash), the
    vectors in the same order, and the row counts."""
    engine = db.make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT o.fingerprint, o.status, s.coarse_channel, s.chan_start, s.chan_stop, s.f_center_mhz, s.statistic,"
            " s.snr, s.drift_rate_hz_s, s.is_signal, md5(a.data), e.latent::text, e.freq_vector::text"
            " FROM snippets s JOIN observations o ON o.id = s.observation_id JOIN embeddings e ON e.snippet_id = s.id"
            " JOIN snippet_arrays a ON a.snippet_id = s.id"
            " ORDER BY 1, 3, 4, 10")).all()
        counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                  for t in ("observations", "snippets", "embeddings", "models", "model_weights", "ingest_failures")}
    engine.dispose()
    keys = [tuple(r[:11]) for r in rows]
    vectors = np.array([[float(x) for x in (r[11] + r[12]).replace("][", ",").strip("[]").split(",")] for r in rows])
    return keys, vectors, counts


def _ingest(directory, **options) -> list[dict]:
    state = load_flows("ingest").ingest_directory(str(directory), n_noise_per_channel=NOISE, return_state=True,
                                                  **options)
    outcome = state.result(raise_on_failure=False)
    return outcome.rows if hasattr(outcome, "rows") else outcome


@pytest.fixture(scope="module")
def serial(prefect_harness, server_url, landing):
    """The reference: the directory ingested one file after another, in this process."""
    with db.scratch_database(server_url, "serial") as url:
        previous = os.environ.get("RFICAT_DATABASE_URL")
        os.environ["RFICAT_DATABASE_URL"] = url
        try:
            rows = _ingest(landing, workers=1)
        finally:
            if previous is None:
                os.environ.pop("RFICAT_DATABASE_URL")
            else:
                os.environ["RFICAT_DATABASE_URL"] = previous
        yield rows, snapshot(url)


@pytest.fixture
def catalogue_url(server_url, monkeypatch):
    with db.scratch_database(server_url, "fan") as url:
        monkeypatch.setenv("RFICAT_DATABASE_URL", url)
        monkeypatch.delenv("RFICAT_DASK_ADDRESS", raising=False)
        yield url


def _same_catalogue(got, expected) -> None:
    keys, vectors, counts = got
    want_keys, want_vectors, want_counts = expected
    assert counts == want_counts
    assert keys == want_keys
    # the same encoder on the same arrays; TensorFlow's thread count may move the last bits
    np.testing.assert_allclose(vectors, want_vectors, atol=1e-5)


def test_two_local_workers_store_what_a_serial_ingest_stores(serial, catalogue_url, landing):
    serial_rows, serial_snapshot = serial
    assert sorted(r["status"] for r in serial_rows) == ["ingested"] * 5 + ["skipped"]
    before = _children()
    rows = _ingest(landing, workers=2)
    # scan0 and its copy are one observation, whichever worker won the race
    assert sorted(r["status"] for r in rows) == ["ingested"] * 5 + ["skipped"]
    assert {r["path"] for r in rows} == {r["path"] for r in serial_rows}
    _same_catalogue(snapshot(catalogue_url), serial_snapshot)
    assert not _no_new_children(before), "the local Dask cluster left processes behind"
    assert {r["status"] for r in _ingest(landing, workers=2)} == {"skipped"}  # a rerun adds nothing


def test_the_cli_fans_out_and_stays_quiet(serial, catalogue_url, landing, capfd):
    import json

    capfd.readouterr()
    assert main(["ingest", str(landing), "--workers", "2", "--noise", str(NOISE), "--json"]) == 0
    out, err = capfd.readouterr()
    assert sorted(r["status"] for r in json.loads(out)) == ["ingested"] * 5 + ["skipped"]
    assert "distributed" not in err and "Task run" not in err, err
    _same_catalogue(snapshot(catalogue_url), serial[1])


def _kill_a_worker_mid_file(url: str, killed: list[int], stop: threading.Event) -> None:
    """SIGKILL the worker process whose ingest transaction has written rows for a while and not
    committed (workers name their connections ``rficat-worker HOST:PID``)."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            while not stop.is_set():
                names = conn.execute(sa.text(
                    "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()"
                    " AND backend_xid IS NOT NULL AND application_name LIKE 'rficat-worker %'"
                    " AND now() - xact_start > interval '0.3 s'")).scalars().all()
                conn.rollback()
                if names:
                    pid = int(names[0].rsplit(":", 1)[1])
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
                time.sleep(0.02)
    finally:
        engine.dispose()


def test_a_worker_killed_mid_file_leaves_nothing_partial(serial, catalogue_url, landing, caplog):
    from distributed import Client, LocalCluster

    from rficat.flows import fanout

    caplog.set_level(logging.CRITICAL, "distributed")
    before = _children()
    killed: list[int] = []
    stop = threading.Event()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR, preload=[fanout.WORKER_PRELOAD],
                      env=fanout.worker_environment(2)) as cluster, Client(cluster) as client:
        assert len(client.run(os.getpid)) == 2
        killer = threading.Thread(target=_kill_a_worker_mid_file, args=(catalogue_url, killed, stop))
        killer.start()
        try:
            rows = _ingest(landing, dask_address=cluster.scheduler_address)
        finally:
            stop.set()
            killer.join()
    assert killed, "no worker was caught mid-file"
    assert len(rows) == 6  # the run ends, with a row per file (Dask reruns a killed worker's task elsewhere)
    assert killed[0] not in _children()
    # whatever the run reported for the killed file, the catalogue holds whole files only
    keys, _, counts = snapshot(catalogue_url)
    serial_keys = serial[1][0]
    by_file = lambda ks: {fp: sum(k[0] == fp for k in ks) for fp in {k[0] for k in ks}}  # noqa: E731
    expected = by_file(serial_keys)
    assert all(n == expected[fp] for fp, n in by_file(keys).items())
    assert {k[1] for k in keys} <= {"complete"}
    assert counts["observations"] == len(by_file(keys))  # no observation row without its snippets
    # the rerun (serially here) completes the catalogue: the serial ingest's rows exactly
    rerun = _ingest(landing, workers=1)
    assert all(r["status"] != "failed" for r in rerun)
    _same_catalogue(snapshot(catalogue_url), serial[1])
    assert not _no_new_children(before), "processes left behind"


def test_a_worker_without_the_model_files_reads_the_weights_from_the_catalogue(catalogue_url, tmp_path):
    from rficat.catalogue import models
    from rficat.errors import RficatError
    from rficat.science import model

    engine = db.make_engine(catalogue_url)
    saved = model.save_model(tmp_path / "here" / "models" / "weights-only" / "v1", model.build_encoder(3),
                             model.ModelMetadata("weights-only", latent_dim=3))
    encoder = model.load_model(saved)
    model_id = models.register(engine, encoder)  # registering keeps the weights in the catalogue
    assert models.has_weights(engine, model_id)
    elsewhere = tmp_path / "elsewhere" / "models"  # a worker's RFICAT_HOME: no copy of the model
    found_id, found = models.encoder_for(engine, elsewhere, model_id)
    cached = elsewhere / ".catalogue" / encoder.metadata.fingerprint.removeprefix("sha256:")
    assert found_id == model_id and found.path == cached
    assert (cached / model.ENCODER_FILE).read_bytes() == (saved / model.ENCODER_FILE).read_bytes()
    arrays = np.random.default_rng(0).random((20, 16, 256), dtype=np.float32)
    np.testing.assert_array_equal(found.encode(arrays), encoder.encode(arrays))
    for name in ("weights-only", "weights-only:v1"):  # `--model NAME` on a worker without the directory
        assert models.registered_encoder(engine, elsewhere, name).metadata.fingerprint == encoder.metadata.fingerprint
    with pytest.raises(RficatError, match="no model 'weights-only:v2'"):
        models.registered_encoder(engine, elsewhere, "weights-only:v2")
    # a model registered from its metadata alone has no weights anywhere: one clear line
    other = model.ModelMetadata("ghost", latent_dim=3, fingerprint="sha256:" + "0" * 64)
    ghost = db.register_model(engine, other)
    with pytest.raises(RficatError, match="not on this machine nor in the catalogue"):
        models.encoder_for(engine, elsewhere, ghost)
    engine.dispose()


def test_reencoding_fans_out_on_two_workers(prefect_harness, catalogue_url, landing, tmp_path):
    from rficat.catalogue import ingest, models
    from rficat.science import model, snippets

    engine = db.make_engine(catalogue_url)
    for path in sorted(landing.glob("scan[1-3].h5")):
        ingest.ingest_file(engine, path)
    other = model.save_model(tmp_path / "other", model.build_encoder(3), model.ModelMetadata("other", latent_dim=3))
    before = _children()
    result = load_flows("reencode").reencode_catalogue(str(other), workers=2)
    assert not _no_new_children(before)
    model_id = result["model_id"]
    assert result["observations"] == 3 and models.observations_missing_model(engine, model_id) == []
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT a.data, e.latent::text FROM snippets s JOIN embeddings e"
                                    " ON e.snippet_id = s.id AND e.model_id = :m JOIN snippet_arrays a ON a.snippet_id = s.id"
                                    " ORDER BY s.id"), {"m": model_id}).all()
    engine.dispose()
    assert result["snippets_encoded"] == len(rows) > 0
    here = model.load_model(other).encode(np.stack([snippets.from_bytes(r[0]) for r in rows]))
    there = np.array([[float(x) for x in r[1].strip("[]").split(",")] for r in rows])
    np.testing.assert_allclose(there, here, atol=1e-5)  # the workers' vectors are this model's
