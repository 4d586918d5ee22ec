"""Known-RFI masks: ranges of known-RFI classes out, a site's own bands in (rficat rfi mask)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from conftest import cli_on

from rficat.catalogue import cadence, ingest, rfi, rfimask
from rficat.cli import main
from rficat.store import db
from rficat.synthetic import synth


@pytest.fixture(scope="module")
def mask_db(server_url, tmp_path_factory):
    """A cadence with stationary RFI in every scan, clustered into RFI classes."""
    with db.scratch_database(server_url, "mask") as url:
        engine = db.make_engine(url)
        spec = synth.ObservationSpec(n_coarse_channels=1, seed=21)
        scans = synth.demo_cadence(tmp_path_factory.mktemp("mask"), spec=spec, n_rfi=8, n_eti=1, seed=5)
        for path, _, _ in scans:
            ingest.ingest_file(engine, path)
        cadence.add_cadence(engine, "mask", [p for p, _, _ in scans])
        rfi.build(engine, min_cluster_size=4)
        yield {"url": url, "engine": engine, "scans": scans}
        engine.dispose()


@pytest.fixture
def cli(mask_db, monkeypatch, capsys):
    return cli_on(mask_db["url"], monkeypatch, capsys)


def test_export_csv_and_yaml(mask_db, cli, tmp_path):
    out = tmp_path / "mask.csv"
    assert main(["rfi", "mask", "--out", str(out), "--json"]) == 0
    summary = json.loads(cli.readouterr().out)
    frame = pd.read_csv(out)
    assert list(frame.columns) == rfimask.RANGE_COLUMNS and summary["ranges"] == len(frame) > 0
    assert (frame["f_start_mhz"] <= frame["f_stop_mhz"]).all()
    with mask_db["engine"].connect() as conn:
        known = conn.execute(sa.text("SELECT count(*) FROM snippet_rfi")).scalar()
        observations = conn.execute(sa.text("SELECT count(*) FROM observations")).scalar()
    assert frame["n_snippets"].sum() == known
    assert (frame["n_observations_covering"] == observations).all()
    assert frame["occupancy"].tolist() == pytest.approx((frame["n_observations"] / observations).round(4).tolist())
    assert frame["occupancy"].max() > 0.5  # the RFI is in every scan (the build may leave a few unclassed)
    truth = [t for t in mask_db["scans"][0][2] if t["label"] == "rfi"]
    for t in truth:  # each stationary RFI carrier lies in a known-RFI range
        assert ((frame["f_start_mhz"] <= t["f_mid_mhz"]) & (t["f_mid_mhz"] <= frame["f_stop_mhz"])).any()
    as_yaml = tmp_path / "mask.yaml"
    assert main(["rfi", "mask", "--out", str(as_yaml)]) == 0
    loaded = yaml.safe_load(as_yaml.read_text())
    assert len(loaded["bands"]) == len(frame) and loaded["bands"][0]["f_start_mhz"] == pytest.approx(
        frame["f_start_mhz"][0])
    assert main(["rfi", "mask", "--out", str(tmp_path / "mask.txt")]) == 1
    assert "a mask is a .csv or .yaml file" in cli.readouterr().err


def test_import_list_replace_and_use(mask_db, cli, tmp_path):
    site = tmp_path / "gbt.yaml"
    site.write_text("bands:\n  - {f_start_mhz: 1999.90, f_stop_mhz: 1999.91, label: radar}\n"
                    "  - {f_start_mhz: 1500.0, f_stop_mhz: 1600.0, notes: GNSS}\n")
    assert main(["rfi", "mask", "--import", str(site), "--json"]) == 0
    assert json.loads(cli.readouterr().out) == {"source": "gbt.yaml", "imported": 2, "replaced": 0}
    assert main(["rfi", "mask", "--import", str(site), "--json"]) == 0
    assert json.loads(cli.readouterr().out)["replaced"] == 2
    exported = tmp_path / "known.csv"
    assert main(["rfi", "mask", "--out", str(exported)]) == 0
    assert main(["rfi", "mask", "--import", str(exported)]) == 0  # an exported mask imports as it is
    cli.readouterr()
    assert main(["rfi", "mask", "--list", "--json"]) == 0
    bands = json.loads(cli.readouterr().out)
    assert len(bands) == 2 + len(pd.read_csv(exported)) and {"radar", None} <= {b["label"] for b in bands}
    bad = tmp_path / "bad.csv"
    bad.write_text("f_start_mhz,f_stop_mhz\n1420.5,1420.0\n")
    assert main(["rfi", "mask", "--import", str(bad)]) == 1
    assert "bad.csv band 1" in cli.readouterr().err
    # query --not-in-mask leaves out matches inside the bands
    engine = mask_db["engine"]
    with engine.connect() as conn:
        snippet = conn.execute(sa.text("SELECT s.id FROM snippet_rfi r JOIN snippets s ON s.id = r.snippet_id"
                                       " ORDER BY s.snr DESC LIMIT 1")).scalar()
    assert main(["query", "--soi", str(snippet), "-k", "5", "--json"]) == 0
    plain = json.loads(cli.readouterr().out)["matches"]
    assert main(["query", "--soi", str(snippet), "-k", "5", "--not-in-mask", "--json"]) == 0
    masked = json.loads(cli.readouterr().out)["matches"]
    inside = [(lo, hi) for lo, hi, _ in rfimask.labelled_bands(engine)]
    assert any(any(lo <= m["f_center_mhz"] <= hi for lo, hi in inside) for m in plain)
    assert not any(any(lo <= m["f_center_mhz"] <= hi for lo, hi in inside) for m in masked)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM rfi_mask_bands"))


def test_no_build_is_one_clear_line(fresh_db_url, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("RFICAT_DATABASE_URL", fresh_db_url)
    assert main(["db", "init"]) == 0
    capsys.readouterr()
    assert main(["rfi", "mask", "--out", str(tmp_path / "m.csv")]) == 1
    assert capsys.readouterr().err.strip() == "rficat: error: no RFI classes yet: run `rficat rfi build` first"
    assert main(["rfi", "mask", "--list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_not_in_mask_is_one_sql_filter_for_query_template_and_viewer(mask_db, cli, tmp_path):
    """--not-in-mask is the search's own filter (SQL p_not_in_mask): k rows outside the bands come
    back from rficat_lookalikes, `rficat query`, `rficat template` and the viewer's parameters."""
    from rficat.web.params import SearchParams

    engine = mask_db["engine"]
    with engine.connect() as conn:
        snippet, f_mhz = conn.execute(sa.text("SELECT s.id, s.f_center_mhz FROM snippet_rfi r JOIN snippets s"
                                              " ON s.id = r.snippet_id ORDER BY s.snr DESC LIMIT 1")).one()
    site = tmp_path / "site.csv"  # one band around the emitter: its lookalikes in every scan lie inside it
    site.write_text(f"f_start_mhz,f_stop_mhz,label\n{f_mhz - 0.001!r},{f_mhz + 0.001!r},carrier\n")
    assert main(["rfi", "mask", "--import", str(site)]) == 0
    try:
        with engine.connect() as conn:
            plain = conn.execute(sa.text("SELECT snippet_id, f_center_mhz FROM rficat_lookalikes(:i, 5)"),
                                 {"i": snippet}).all()
            masked = conn.execute(sa.text("SELECT snippet_id, f_center_mhz FROM rficat_lookalikes(:i, 5,"
                                          " p_not_in_mask => true)"), {"i": snippet}).all()
        inside = [r for r in plain if abs(r.f_center_mhz - f_mhz) <= 0.001]
        assert inside and len(masked) == 5  # k rows still, none inside the band
        assert not any(abs(r.f_center_mhz - f_mhz) <= 0.001 for r in masked)
        cli.readouterr()
        assert main(["query", "--soi", str(snippet), "-k", "5", "--not-in-mask", "--json"]) == 0
        assert [m["snippet_id"] for m in json.loads(cli.readouterr().out)["matches"]] == [r.snippet_id for r in masked]
        template = ["template", "--shape", "narrowband", "--drift", "0", "-k", "5", "--json"]
        assert main(template) == 0
        best = json.loads(cli.readouterr().out)["matches"][0]["f_center_mhz"]
        (tmp_path / "best.csv").write_text(f"f_start_mhz,f_stop_mhz\n{best - 0.001!r},{best + 0.001!r}\n")
        assert main(["rfi", "mask", "--import", str(tmp_path / "best.csv")]) == 0
        cli.readouterr()
        assert main([*template, "--not-in-mask"]) == 0
        matches = json.loads(cli.readouterr().out)["matches"]
        assert len(matches) == 5 and not any(abs(m["f_center_mhz"] - best) <= 0.001 for m in matches)
        params = SearchParams.from_query({"not_in_mask": "on"})
        assert params.filters.not_in_mask is True and params.given == {"not_in_mask": True}
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM rfi_mask_bands"))
