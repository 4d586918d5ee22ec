"""Lookalike, template and cadence search on a real catalogue built from synthetic ABACAD files."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest
import sqlalchemy as sa
from conftest import cli_on

from rficat.catalogue import cadence, ingest, search
from rficat.cli import main
from rficat.errors import RficatError
from rficat.store import db
from rficat.synthetic import synth


@pytest.fixture(scope="module")
def catalogue_db(server_url, tmp_path_factory):
    """A database holding one ingested ABACAD cadence (RFI in all scans, 2 ETI-like ON-only signals).
    Vectors are left unindexed, as right after ingest; tests that need HNSW call index_pending."""
    with db.scratch_database(server_url, "search") as url:
        engine = db.make_engine(url)
        spec = synth.ObservationSpec(n_coarse_channels=2, seed=11)
        scans = synth.demo_cadence(tmp_path_factory.mktemp("search"), spec=spec, n_rfi=10, n_eti=2, seed=4)
        for path, _, _ in scans:
            ingest.ingest_file(engine, path, n_noise_per_channel=5)
        cadence.add_cadence(engine, "abacad", [p for p, _, _ in scans])
        yield {"url": url, "engine": engine, "scans": scans}
        engine.dispose()


@pytest.fixture
def cli_env(catalogue_db, monkeypatch, capsys):
    return cli_on(catalogue_db["url"], monkeypatch, capsys)


def _rfi_snippet(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT s.id, s.f_center_mhz, s.observation_id FROM snippets s JOIN observations o ON o.id = s.observation_id"
            " WHERE s.is_signal AND abs(s.drift_rate_hz_s) < 0.1 AND o.path LIKE '%scan0_%' ORDER BY s.snr DESC LIMIT 1")
        ).mappings().one())


def test_lookalikes_find_the_same_emitter_in_every_scan(catalogue_db):
    engine = catalogue_db["engine"]
    soi = _rfi_snippet(engine)
    found = search.lookalikes(engine, soi["id"], k=5)
    assert len(found) == 5 and soi["id"] not in set(found["snippet_id"])
    assert list(found["similarity"]) == sorted(found["similarity"], reverse=True)
    # the same stationary RFI recurs in the other 5 scans at the same frequency
    assert (abs(found["f_center_mhz"] - soi["f_center_mhz"]) < 1e-3).all()
    assert found["observation_id"].nunique() == 5


def test_unindexed_vectors_are_searchable_and_hnsw_agrees_with_exact(catalogue_db):
    engine = catalogue_db["engine"]
    with engine.begin() as conn:  # as right after ingest, whichever test indexed this catalogue before
        conn.execute(sa.text("UPDATE embeddings SET indexed = false"))
    soi = _rfi_snippet(engine)
    before = search.lookalikes(engine, soi["id"], k=10)  # the exact branch for vectors waiting for the index
    assert db.index_pending(engine) > 0
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM embeddings WHERE NOT indexed")).scalar() == 0
    after = search.lookalikes(engine, soi["id"], k=10)
    exact = search.lookalikes(engine, soi["id"], k=10, exact=True)
    assert list(before["snippet_id"]) == list(exact["snippet_id"])
    assert len(set(after["snippet_id"]) & set(exact["snippet_id"])) >= 9
    np.testing.assert_allclose(sorted(after["similarity"]), sorted(exact["similarity"]), atol=1e-5)


@pytest.mark.parametrize("filters, expect", [
    ({"source": "SYNTH_OFF_B"}, "only that source"),
    ({"source": "NOBODY"}, "none"),
    ({"telescope": "GBT"}, "some"),
    ({"telescope": "Parkes"}, "none"),
    ({"near_ra_deg": 359.9, "near_dec_deg": 0.05, "near_radius_deg": 0.5}, "some"),  # across RA 0
    ({"near_ra_deg": 180.0, "near_dec_deg": 45.0, "near_radius_deg": 1.0}, "none"),
])
def test_source_telescope_and_cone_filters(catalogue_db, filters, expect):
    """The pointing filters, in SQL as in the CLI: the demo cadence points at RA 0, Dec 0 with GBT."""
    engine = catalogue_db["engine"]
    soi = _rfi_snippet(engine)
    found = search.lookalikes(engine, soi["id"], k=5, filters=search.Filters(**filters))
    if expect == "none":
        assert found.empty
        return
    assert len(found) == 5
    with engine.connect() as conn:
        sources = set(conn.execute(sa.text("SELECT DISTINCT source_name FROM observations WHERE id = ANY(:i)"),
                                   {"i": [int(i) for i in found["observation_id"]]}).scalars())
    assert sources == {"SYNTH_OFF_B"} if expect == "only that source" else sources


def test_the_cone_option_is_one_argument(cli_env):
    assert main(["query", "--soi", "1", "--near", "0,0,1", "-k", "3", "--json"]) == 0
    assert len(json.loads(cli_env.readouterr().out)["matches"]) == 3
    with pytest.raises(SystemExit) as exit_info:  # argparse's error: the option named, exit 2
        main(["query", "--soi", "1", "--near", "0,95,1"])
    assert exit_info.value.code == 2 and "--near: Dec must be within" in cli_env.readouterr().err


def test_filters_hold_and_still_return_k_rows(catalogue_db):
    engine = catalogue_db["engine"]
    db.index_pending(engine)
    soi = _rfi_snippet(engine)
    filters = search.Filters(f_min_mhz=soi["f_center_mhz"] + 0.05, snr_min=15, drift_max_hz_s=0.1)
    found = search.lookalikes(engine, soi["id"], k=8, filters=filters)
    assert len(found) == 8  # iterative index scan: filtered queries still fill k
    assert (found["f_center_mhz"] >= filters.f_min_mhz).all() and (found["snr"] >= 15).all()
    assert (found["drift_rate_hz_s"] <= 0.1).all()
    one = search.lookalikes(engine, soi["id"], k=3, filters=search.Filters(observation_id=soi["observation_id"]))
    assert (one["observation_id"] == soi["observation_id"]).all()
    with pytest.raises(RficatError, match="no cadence named 'no-such-cadence'"):  # not an empty result
        search.lookalikes(engine, soi["id"], k=3, filters=search.Filters(cadence="no-such-cadence"))


def test_grouping_folds_near_duplicates(catalogue_db):
    engine = catalogue_db["engine"]
    soi = _rfi_snippet(engine)
    grouped = search.lookalikes(engine, soi["id"], k=4, use_frequency=False, group_mhz=0.001)
    centres = np.sort(grouped["f_center_mhz"].to_numpy())
    assert len(grouped) == 4 and (np.diff(centres) > 0.001).all()
    assert grouped["n_grouped"].iloc[0] >= 5  # the SOI's emitter in the other scans is one row


def test_soi_from_a_file_matches_its_stored_snippet(catalogue_db):
    engine = catalogue_db["engine"]
    soi_row = _rfi_snippet(engine)
    path = catalogue_db["scans"][0][0]
    soi = search.soi_from_file(path, soi_row["f_center_mhz"])
    found = search.query(engine, soi, k=1, filters=search.Filters(observation_id=soi_row["observation_id"]))
    assert found["snippet_id"].iloc[0] == soi_row["id"] and found["similarity"].iloc[0] > 0.99


def test_template_finds_the_drifting_signal(catalogue_db, cli_env):
    eti = catalogue_db["scans"][0][2]
    eti = [t for t in eti if t["label"] == "eti"][0]
    assert main(["template", "--drift", str(eti["drift_hz_s"]), "--snr", "40", "--width", str(eti["width_hz"]),
                 "-k", "3", "--json"]) == 0
    result = json.loads(cli_env.readouterr().out)
    top = result["matches"][0]
    assert abs(top["drift_rate_hz_s"] - eti["drift_hz_s"]) < 0.2
    with catalogue_db["engine"].connect() as conn:
        stored = conn.execute(sa.text("SELECT snippet_id FROM template_matches WHERE search_id = :s ORDER BY rank"),
                              {"s": result["template_search_id"]}).scalars().all()
    assert stored == [m["snippet_id"] for m in result["matches"]]


def test_query_cli_json_and_plot(catalogue_db, cli_env, tmp_path):
    soi = _rfi_snippet(catalogue_db["engine"])
    png = tmp_path / "q.png"
    assert main(["query", "--soi", str(soi["id"]), "-k", "4", "--plot", str(png), "--json"]) == 0
    result = json.loads(cli_env.readouterr().out)
    assert [m["rank"] for m in result["matches"]] == [1, 2, 3, 4]
    assert all("f_center_mhz" in m and "similarity" in m for m in result["matches"])
    assert png.read_bytes()[:4] == b"\x89PNG"
    path = catalogue_db["scans"][2][0]
    assert main(["query", "--soi", f"{path}@{soi['f_center_mhz']}", "-k", "2", "--json"]) == 0
    assert len(json.loads(cli_env.readouterr().out)["matches"]) == 2


@pytest.mark.parametrize("argv, message", [
    (["query", "--soi", "987654321"], "no snippet 987654321"),
    (["query", "--soi", "missing.h5@1500"], "missing.h5: no such file"),
    (["query", "--soi", "1", "--model-id", "999"], "no vector of model 999"),
    (["cadence", "search", "nope"], "no cadence nope"),
])
def test_bad_queries_fail_in_one_line(catalogue_db, cli_env, argv, message):
    assert main(argv) == 1
    err = cli_env.readouterr().err.strip().splitlines()
    assert err[-1].startswith("rficat: error:") and message in err[-1]


def test_frequency_outside_the_file(catalogue_db, cli_env):
    path = catalogue_db["scans"][0][0]
    assert main(["query", "--soi", f"{path}@100.0"]) == 1
    assert "outside the file's band" in cli_env.readouterr().err


def test_empty_catalogue(fresh_db_url, monkeypatch, capsys):
    monkeypatch.setenv("RFICAT_DATABASE_URL", fresh_db_url)
    assert main(["db", "init"]) == 0
    capsys.readouterr()
    assert main(["template", "--drift", "1"]) == 1
    assert "catalogue is empty" in capsys.readouterr().err


def test_cadence_search_reports_the_on_only_signals(catalogue_db, cli_env):
    scans = catalogue_db["scans"]
    eti = [t for t in scans[0][2] if t["label"] == "eti"]
    assert main(["cadence", "search", "abacad", "--json"]) == 0
    events = json.loads(cli_env.readouterr().out)
    assert len(events) == len(eti)  # every ETI-like signal, and not one of the RFI present in all scans
    for event in events:
        assert len(event["on_snippet_ids"]) == 3 and event["off_scans_checked"] == 3
        assert min(abs(event["f_center_mhz"] - t["f_mid_mhz"]) for t in eti) < 0.002
        assert "OFF scans checked" in event["explanation"]


def test_reader_role_reads_but_cannot_write(catalogue_db):
    engine = catalogue_db["engine"]
    user = f"nb_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {user} LOGIN IN ROLE rficat_reader"))
    reader = db.make_engine(sa.engine.make_url(catalogue_db["url"]).set(username=user)
                            .render_as_string(hide_password=False))
    try:
        with reader.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM snippet_catalogue")).scalar() > 0
            sid = conn.execute(sa.text("SELECT min(snippet_id) FROM snippet_catalogue WHERE is_signal")).scalar()
            assert len(conn.execute(sa.text("SELECT * FROM rficat_lookalikes(:s, 3)"), {"s": sid}).all()) == 3
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), reader.begin() as conn:
            conn.execute(sa.text("DELETE FROM snippets"))
    finally:
        reader.dispose()
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {user}; DROP ROLE {user}"))


def test_template_search_flow_keeps_results_for_sql(prefect_harness, catalogue_db, monkeypatch):
    from rficat.cli import load_flows

    monkeypatch.setenv("RFICAT_DATABASE_URL", catalogue_db["url"])
    templates = [{"shape": "drifting", "drift_hz_s": d, "snr": 40.0} for d in (-1.0, 0.5, 1.2)]
    rows = load_flows("template_search").template_search(templates, k=5, job="drift-survey")
    assert [r["drift_hz_s"] for r in rows] == [-1.0, 0.5, 1.2]
    with catalogue_db["engine"].connect() as conn:
        counts = conn.execute(sa.text(
            "SELECT t.id, count(m.rank) FROM template_searches t JOIN template_matches m ON m.search_id = t.id"
            " WHERE t.job = 'drift-survey' GROUP BY t.id ORDER BY t.id")).all()
    assert [c for _, c in counts] == [5, 5, 5] and [i for i, _ in counts] == [r["search_id"] for r in rows]


def test_cadence_search_with_rfi_classes(catalogue_db, cli_env):
    """With an RFI build, events carry their class; ON-only signals stay candidates."""
    from rficat.catalogue import rfi

    rfi.build(catalogue_db["engine"], min_cluster_size=4)
    assert main(["cadence", "search", "abacad", "--json"]) == 0
    events = json.loads(cli_env.readouterr().out)
    assert events and all("rfi_class_id" in e for e in events)
    assert not any(e["likely_rfi"] for e in events)
    with catalogue_db["engine"].connect() as conn:
        # stationary RFI recurs in OFF scans: its class is known RFI, so a lookalike query can skip it
        rfi_in_off = conn.execute(sa.text(
            "SELECT count(*) FROM snippet_rfi r JOIN snippets s ON s.id = r.snippet_id"
            " JOIN cadence_members cm ON cm.observation_id = s.observation_id AND cm.role = 'OFF'")).scalar()
    assert rfi_in_off > 0


def test_cadence_search_plot_draws_every_scan_around_the_track(catalogue_db, cli_env, tmp_path):
    """--plot: the top events with all six scans read from the files, the ON snippets beside;
    a scan whose file is gone is drawn as not reachable."""
    from matplotlib import image

    from rficat.catalogue import tracks

    png = tmp_path / "cadence.png"
    assert main(["cadence", "search", "abacad", "--plot", str(png), "--json"]) == 0
    events = json.loads(cli_env.readouterr().out)
    for path in (png, tmp_path / "cadence-snippets.png"):
        pixels = image.imread(path)
        assert pixels.shape[0] > 250 and pixels[..., :3].std() > 0.1
    panel = tracks.cadence_panel(tracks.event_track(catalogue_db["engine"], "abacad", events[0]["snippet_id"]))
    assert [s.label.split()[:2] for s in panel.scans] == [["A", "ON"], ["B", "OFF"], ["A", "ON"], ["C", "OFF"],
                                                          ["A", "ON"], ["D", "OFF"]]
    assert all(s.data is not None and s.data.shape[0] == 16 for s in panel.scans)
    starts = [s.start_s for s in panel.scans]
    assert starts[0] == 0 and all(b - a == pytest.approx(s.duration_s) for a, b, s in zip(starts, starts[1:], panel.scans))
    for scan in panel.scans[::2]:  # the event's signal lies on its track in every ON scan
        middle = scan.data[8]
        column = int(np.argmax(middle))
        hz = (scan.f_first_mhz - panel.track.f0_mhz) * 1e6 + column * scan.foff_hz
        assert hz == pytest.approx(panel.track.offset_hz(scan.start_s + 8.5 * scan.duration_s / 16), abs=30)
    moved = catalogue_db["scans"][3][0].with_suffix(".away")
    catalogue_db["scans"][3][0].rename(moved)
    try:
        panel = tracks.cadence_panel(tracks.event_track(catalogue_db["engine"], "abacad", events[0]["snippet_id"]))
    finally:
        moved.rename(catalogue_db["scans"][3][0])
    assert panel.scans[3].data is None and panel.scans[3].note == "file not reachable"
