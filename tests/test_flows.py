"""Prefect flows and the `rficat ingest` / `rficat cadence add` commands, on the real catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from rficat.cli import load_flows, main
from rficat.synthetic import synth


@pytest.fixture(scope="module")
def cadence_files(tmp_path_factory):
    spec = synth.ObservationSpec(n_coarse_channels=2, seed=5)
    return synth.demo_cadence(tmp_path_factory.mktemp("cadence"), spec=spec, n_rfi=6, n_eti=2, seed=7)


@pytest.fixture
def catalogue_url(fresh_db_url, monkeypatch):
    monkeypatch.setenv("RFICAT_DATABASE_URL", fresh_db_url)
    assert main(["db", "init"]) == 0
    return fresh_db_url


def test_ingest_cli_with_cadence(prefect_harness, catalogue_url, cadence_files, capsys):
    capsys.readouterr()
    paths = [str(p) for p, _, _ in cadence_files]
    assert main(["ingest", *paths, "--cadence", "demo", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in rows] == ["ingested"] * 6
    for row, (_, role, truth) in zip(rows, cadence_files):
        assert row["n_signal"] == len(truth)
    engine = sa.create_engine(catalogue_url)
    with engine.connect() as conn:
        pattern = conn.execute(sa.text("SELECT pattern FROM cadences WHERE name = 'demo'")).scalar_one()
        roles = conn.execute(sa.text("SELECT role FROM cadence_members ORDER BY position")).scalars().all()
    engine.dispose()
    assert pattern == "ABACAD"
    assert roles == [role for _, role, _ in cadence_files]
    # again: everything is skipped, nothing duplicated
    assert main(["ingest", *paths, "--json"]) == 0
    assert {r["status"] for r in json.loads(capsys.readouterr().out)} == {"skipped"}


def test_a_corrupt_file_fails_alone(prefect_harness, catalogue_url, cadence_files, tmp_path, capsys, caplog,
                                    monkeypatch):
    import logging

    monkeypatch.setattr(logging.getLogger("prefect.task_runs"), "propagate", True)  # the CLI may have muted it
    caplog.set_level(logging.INFO, "prefect.task_runs")
    landing = tmp_path / "landing"
    landing.mkdir()
    good = cadence_files[0][0]
    (landing / good.name).write_bytes(good.read_bytes())
    (landing / "broken.h5").write_bytes(b"\x89HDF\r\n" + b"\x00" * 64)
    flows = load_flows("ingest")
    state = flows.ingest_directory(str(landing), return_state=True)
    assert state.is_failed(), "a run in which a file failed must not end Completed"
    failure = state.result(raise_on_failure=False)
    assert isinstance(failure, flows.IngestFailed) and "1 of 2 files failed" in str(failure)
    by_name = {r["path"].split("/")[-1]: r for r in failure.rows}
    assert by_name[good.name]["status"] == "ingested", "the good file is ingested all the same"
    assert by_name["broken.h5"]["status"] == "failed" and "broken.h5" in by_name["broken.h5"]["error"]
    progress = [r.getMessage() for r in caplog.records if "coarse channel" in r.getMessage()]
    assert progress and "coarse channel 2 of 2" in progress[-1] and "MB/s" in progress[-1] \
        and progress[-1].endswith(f"{by_name[good.name]['n_snippets']} snippets"), "progress in the run log"
    capsys.readouterr()
    assert main(["ingest", str(landing), "--json"]) == 1
    captured = capsys.readouterr()
    assert {r["path"].split("/")[-1]: r["status"] for r in json.loads(captured.out)} == \
        {good.name: "skipped", "broken.h5": "failed"}, "the rows are printed all the same"
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("rficat: error: ") and "broken.h5" in err[0], err
    # the landing schedule remembers the failure: not retried until the file changes
    rows = {r["path"].split("/")[-1]: r for r in load_flows("ingest").ingest_directory(str(landing))}
    assert rows[good.name]["status"] == "skipped"
    assert rows["broken.h5"]["status"] == "failed-unchanged" and "broken.h5" in rows["broken.h5"]["error"]
    (landing / "broken.h5").write_bytes(cadence_files[1][0].read_bytes())  # replaced by a good file
    rows = {r["path"].split("/")[-1]: r for r in load_flows("ingest").ingest_directory(str(landing))}
    assert rows["broken.h5"]["status"] == "ingested"


def test_cadence_roles_can_be_overridden(catalogue_url, cadence_files, capsys):
    paths = [str(p) for p, _, _ in cadence_files[:2]]
    engine = sa.create_engine(catalogue_url)
    from rficat.catalogue import ingest
    for path in paths:
        ingest.ingest_file(engine, path)
    engine.dispose()
    assert main(["cadence", "add", "pair", *paths, "--roles", "OFF,ON", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [m["role"] for m in result["members"]] == ["OFF", "ON"] and result["pattern"] == "BA"
    assert main(["cadence", "add", "bad", *paths, "--roles", "ON"]) == 1
    assert "--roles" in capsys.readouterr().err


def test_cadence_add_refuses_a_scan_twice_and_conflicting_roles(catalogue_url, cadence_files, tmp_path, capsys):
    paths = [str(p) for p, _, _ in cadence_files[:2]]
    engine = sa.create_engine(catalogue_url)
    from rficat.catalogue import ingest
    for path in paths:
        ingest.ingest_file(engine, path)
    copy = tmp_path / "copy.h5"
    copy.write_bytes(Path(paths[0]).read_bytes())

    def error(*argv: str) -> str:
        capsys.readouterr()
        assert main(list(argv)) == 1
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("rficat: error: "), lines
        return lines[0]

    assert "is given twice" in error("cadence", "add", "twice", paths[0], paths[0])
    assert "are the same observation" in error("cadence", "add", "twice", paths[0], str(copy))
    assert main(["cadence", "add", "pair", *paths, "--roles", "ON,OFF"]) == 0
    assert main(["cadence", "add", "pair", *paths, "--roles", "ON,OFF"]) == 0, "the same again is no conflict"
    line = error("cadence", "add", "pair", *paths, "--roles", "OFF,ON")
    assert "already has" in line and "as ON, not OFF" in line and "--replace" in line
    capsys.readouterr()
    assert main(["cadence", "add", "pair", *paths, "--roles", "OFF,ON", "--replace", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [m["role"] for m in result["members"]] == ["OFF", "ON"]
    assert main(["cadence", "add", "pair", paths[1], "--replace", "--json"]) == 0
    assert [m["path"] for m in json.loads(capsys.readouterr().out)["members"]] == [str(Path(paths[1]).resolve())]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM cadences WHERE name = 'twice'")).scalar() == 0
    engine.dispose()


def test_scheduled_landing_deployment_picks_up_a_new_file(prefect_harness, catalogue_url, cadence_files, tmp_path):
    from datetime import timedelta

    serve = load_flows("serve")
    landing = tmp_path / "landing"
    landing.mkdir()
    deployment = serve.landing_deployment(str(landing), 5)
    assert deployment.schedules[0].schedule.interval == timedelta(minutes=5)
    assert deployment.parameters["path"] == str(landing.resolve())

    from prefect import get_client

    deployment_id = deployment.apply()  # registered on the (test) Prefect server with its schedule
    with get_client(sync_client=True) as client:
        stored = client.read_deployment(deployment_id)
    assert stored.schedules[0].schedule.interval == timedelta(minutes=5)
    assert stored.parameters == deployment.parameters

    def scheduled_run():  # what the worker runs on each tick
        return serve.ingest_directory(**stored.parameters)

    (landing / cadence_files[1][0].name).write_bytes(cadence_files[1][0].read_bytes())
    assert [r["status"] for r in scheduled_run()] == ["ingested"]
    (landing / cadence_files[2][0].name).write_bytes(cadence_files[2][0].read_bytes())  # a new file lands
    statuses = {r["path"].split("/")[-1]: r["status"] for r in scheduled_run()}
    assert statuses == {cadence_files[1][0].name: "skipped", cadence_files[2][0].name: "ingested"}


def test_reencode_flow_is_resumable(prefect_harness, catalogue_url, cadence_files, tmp_path):
    from rficat.catalogue import ingest, models
    from rficat.science import model
    from rficat.store import db

    engine = db.make_engine(catalogue_url)
    for path, _, _ in cadence_files[:3]:
        ingest.ingest_file(engine, path)
    other = model.save_model(tmp_path / "other", model.build_encoder(3), model.ModelMetadata("other", latent_dim=3))
    model_id = db.register_model(engine, model.load_model(other).metadata)
    first = models.observations_missing_model(engine, model_id)
    assert len(first) == 3
    ingest.reencode_observation(engine, first[0], str(other))  # as if a previous run stopped after one
    result = load_flows("reencode").reencode_catalogue(str(other))
    with engine.connect() as conn:
        snippets = conn.execute(sa.text("SELECT count(*) FROM snippets")).scalar()
        vectors = conn.execute(sa.text("SELECT count(*) FROM embeddings WHERE model_id = :m"), {"m": model_id}).scalar()
    engine.dispose()
    assert result["observations"] == 2 and vectors == snippets
    assert load_flows("reencode").reencode_catalogue(str(other))["observations"] == 0


def test_after_a_model_switch_new_files_are_searchable_at_once(prefect_harness, catalogue_url, cadence_files,
                                                               tmp_path, capsys):
    from rficat.catalogue import ingest, models, search
    from rficat.errors import RficatError
    from rficat.science import model
    from rficat.store import db

    engine = db.make_engine(catalogue_url)
    for path, _, _ in cadence_files[:2]:
        ingest.ingest_file(engine, path)
    first_model = models.current_model_id(engine)
    models_dir = tmp_path / "models"
    other = model.save_model(models_dir / "next" / "v1", model.build_encoder(4),
                             model.ModelMetadata("next", latent_dim=4))
    model_id = db.register_model(engine, model.load_model(other).metadata)
    with pytest.raises(RficatError, match="no vectors yet for 2 observations"):
        models.make_model_current(engine, model_id)
    assert models.current_model_id(engine) == first_model
    result = load_flows("reencode").reencode_catalogue(str(other), make_current=True)
    assert result["current"] and models.current_model_id(engine) == model_id
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM models WHERE is_current")).scalar() == 1

    # a file that lands after the switch is encoded with the current model, so searches see it at once
    summary = ingest.ingest_file(engine, cadence_files[2][0], models_dir=models_dir)
    assert summary.model_id == model_id and summary.n_signal > 0
    with engine.connect() as conn:
        visible = conn.execute(sa.text("SELECT count(*) FROM snippet_catalogue WHERE observation_id = :o AND is_signal"),
                               {"o": summary.observation_id}).scalar()
        some_snippet = conn.execute(sa.text("SELECT min(id) FROM snippets WHERE observation_id = :o AND is_signal"),
                                    {"o": summary.observation_id}).scalar()
    assert visible == summary.n_signal
    found = search.lookalikes(engine, some_snippet, 5, filters=search.Filters(observation_id=summary.observation_id))
    assert len(found) == min(5, summary.n_signal - 1)  # the snippet's own observation, found by the index
    assert models.observations_missing_model(engine, model_id) == []

    # a machine without the model's directory (a Dask worker elsewhere) reads its weights from the catalogue
    elsewhere = ingest.ingest_file(engine, cadence_files[3][0], models_dir=tmp_path / "elsewhere")
    assert elsewhere.model_id == model_id and elsewhere.n_signal > 0
    # without the weights on this machine nor in the catalogue: one clear line naming the model
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM model_weights WHERE model_id = :m"), {"m": model_id})
    with pytest.raises(RficatError, match="weights of model next v1"):
        ingest.ingest_file(engine, cadence_files[5][0], models_dir=tmp_path / "elsewhere-too")

    # a file ingested with another model on purpose is reported, never silently missing from searches
    other_model = ingest.ingest_file(engine, cadence_files[4][0], model="default", models_dir=models_dir)
    assert other_model.model_id == first_model
    engine.dispose()
    capsys.readouterr()
    assert main(["db", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["current_model_id"] == model_id
    assert status["first_observations_without_current_vectors"] == [other_model.observation_id]


def test_demo(prefect_harness, tmp_path, monkeypatch, capsys, catalogue_url):
    capsys.readouterr()
    assert main(["demo", "--dir", str(tmp_path / "demo"), "--noise", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pattern"] == "ABACAD"
    assert [f["status"] for f in result["files"]] == ["ingested"] * 6
    assert result["catalogue_rows"]["snippets"] == result["catalogue_rows"]["embeddings"] > 0


def test_every_prefect_yaml_deployment_points_at_a_flow():
    import yaml
    from prefect import Flow

    spec = yaml.safe_load((Path(__file__).resolve().parent.parent / "prefect.yaml").read_text())
    assert {d["name"] for d in spec["deployments"]} >= {"landing", "reencode", "template-search"}
    for deployment in spec["deployments"]:
        path, function = deployment["entrypoint"].split(":")
        assert isinstance(getattr(load_flows(path.removeprefix("rficat/flows/").removesuffix(".py")), function), Flow)
