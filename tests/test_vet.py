"""`rficat vet`: other pipelines' hits (real turboSETI output) vetted against a real catalogue."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import cli_on

from rficat.catalogue import cadence, ingest, verdicts, vet
from rficat.cli import main
from rficat.io import hits
from rficat.science import detect, snippets
from rficat.store import db
from rficat.synthetic import synth

HYPERSETI = Path(__file__).resolve().parent / "data" / "hyperseti-1.0.0-hits.csv"


@pytest.fixture(scope="module")
def vet_db(server_url, turboseti_run):
    """The turboSETI cadence's six scans ingested and recorded as cadence `abacad` (fast.h5 is not)."""
    with db.scratch_database(server_url, "vet") as url:
        engine = db.make_engine(url)
        paths = [p for p, _, _ in turboseti_run["scans"]]
        for path in paths:
            ingest.ingest_file(engine, path)
        cadence.add_cadence(engine, "abacad", paths)
        yield {"url": url, "engine": engine}
        engine.dispose()


@pytest.fixture
def cli(vet_db, monkeypatch, capsys):
    return cli_on(vet_db["url"], monkeypatch, capsys)


def _vet_json(capsys, *argv) -> tuple[int, list[dict], str]:
    code = main(["vet", *map(str, argv), "--json"])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def test_hits_in_ingested_files_are_lookups_and_unjudged_until_the_verdict_is_merged(vet_db, cli, turboseti_run):
    dat = turboseti_run["dats"][0]
    code, rows, err = _vet_json(cli, dat)
    assert code == 0, err
    table = hits.read_hits(dat)[1]
    assert [r["row"] for r in rows] == [h.row for h in table]
    for row, hit in zip(rows, table):
        assert {k: row[k] for k in hit.columns} == hit.columns  # the input's own columns kept
        assert row["data_file"].endswith("scan0_A_SYNTH_TARGET.h5") and row["observation_id"] is not None
        assert row["role"] == "ON" and row["verdict"] == "unjudged" and row["error"] is None
    signals = [r for r in rows if r["snippet_source"] == "catalogue"]
    assert len(signals) >= 3  # turboSETI's hits of signals rficat detected too: the stored snippets
    for row in signals:
        assert row["snippet_id"] is not None and row["explanation"] == verdicts.NO_BUILD  # the one rule, no build yet
    dc = [r for r in rows if r["Index"] == 32767]  # turboSETI's hit on the DC spike, which ingest repairs
    assert dc and dc[0]["snippet_source"] == "file" and dc[0]["snr_measured"] is not None
    assert dc[0]["verdict"] == "unjudged" and dc[0]["explanation"] == verdicts.NO_BUILD


def test_a_cut_snippet_is_exactly_the_snippet_ingest_stored(vet_db, turboseti_run):
    """Cut at a stored snippet's centre, vetting reproduces ingest's bytes (clean_block, window,
    normalise, quantise) and its SNR."""
    engine = vet_db["engine"]
    path = turboseti_run["scans"][0][0]
    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT s.f_center_mhz, a.data, s.snr, s.drift_rate_hz_s FROM snippets s JOIN observations o"
            " ON o.id = s.observation_id JOIN snippet_arrays a ON a.snippet_id = s.id WHERE o.path = :p AND s.is_signal"), {"p": str(path.resolve())}).all()
    finder = vet._Finder(engine, [path], None, None)
    data = finder.on_disk(path)
    items = []
    for row in stored:
        hit = hits.HitRow(Path("t.csv"), 1, "plain", {}, row.f_center_mhz, "centre", row.drift_rate_hz_s)
        items.append(vet.Vetted(hit, data, f_center_mhz=row.f_center_mhz))
    vet.cut_file(path, items)
    for item, row in zip(items, stored):
        assert item.error is None and item.dedrift_hz_s == 0
        assert snippets.to_bytes(item.snippet) == row.data
        assert item.snr_measured == pytest.approx(row.snr, rel=0.05)


def test_the_cut_is_at_the_track_centre_not_turboseti_start(fresh_engine, turboseti_run):
    """On a catalogue without the files, every hit is cut from its file: the drifting signal's track
    is centred in its snippet (turboSETI's own frequency would put it ~50 channels off)."""
    db.migrate(fresh_engine)
    run = vet.vet(fresh_engine, [turboseti_run["dats"][0]], files=[p for p, _, _ in turboseti_run["scans"]])
    eti = max((v for v in run.items), key=lambda v: abs(v.hit.drift_rate_hz_s))
    assert eti.snippet_source == "file" and eti.error is None
    assert abs(eti.hit.drift_rate_hz_s) > 0.5 and eti.dedrift_hz_s == 0
    profile = eti.snippet.mean(axis=0)
    centroid = float(np.dot(profile - np.median(profile), np.arange(256)) / (profile - np.median(profile)).sum())
    assert abs(centroid - 127.5) < 6
    start_offset = (eti.hit.f_mhz - eti.f_center_mhz) / abs(turboseti_run["spec"].foff_hz * 1e-6)
    assert abs(start_offset) > 40
    assert run.model_id is None and all(v.verdict == "unjudged" for v in run.items)
    assert db.row_counts(fresh_engine)["models"] == 0  # nothing written, not even a model


def test_a_fast_drifter_is_cut_dedrifted(vet_db, turboseti_run):
    fast = turboseti_run["fast"]
    run = vet.vet(vet_db["engine"], [fast["dat"]], files=[fast["path"]])
    hit = min(run.items, key=lambda v: v.hit.drift_rate_hz_s)
    assert hit.hit.drift_rate_hz_s < -3 and hit.snippet_source == "file"
    assert hit.dedrift_hz_s == hit.hit.drift_rate_hz_s
    # the dedrifted track stands still in the middle of the window, every time bin lit
    peaks = hit.snippet.argmax(axis=1)
    assert np.all(np.abs(peaks - 127.5) < 8)
    assert hit.snr_measured > 30 and hit.verdict == "unjudged" and hit.explanation == verdicts.NO_BUILD


def test_hyperseti_table_with_its_file(vet_db, cli, turboseti_run):
    code, rows, err = _vet_json(cli, HYPERSETI, "--files", turboseti_run["fast"]["path"])
    assert code == 0, err
    assert [r["format"] for r in rows] == ["hyperseti", "hyperseti"]
    assert rows[0]["dedrift_hz_s"] == pytest.approx(-3.5204684) and rows[0]["snr_measured"] > 30
    assert rows[0]["f_center_mhz"] < rows[0]["f_start"]  # the track's centre, below its start
    assert rows[1]["verdict"] == "unjudged" and rows[1]["explanation"] == verdicts.NO_BUILD  # the repaired DC spike


def test_duplicate_hits_of_one_signal_are_grouped(vet_db, turboseti_run, tmp_path):
    """Two rows on one drifting track (as turboSETI reports one signal twice) are one signal."""
    dat = turboseti_run["dats"][0]
    lines = dat.read_text().splitlines()
    body = [i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")]
    drifting = max(body, key=lambda i: abs(float(lines[i].split()[1])))
    fields = lines[drifting].split("\t")
    drift = float(fields[1])
    moved = float(fields[3]) + drift * 60 * 1e-6  # the same track, one minute further on
    fields[0], fields[2], fields[3] = "000099", f"{float(fields[2]) * 0.8:10.6f}", f"{moved:14.6f}"
    doubled = tmp_path / dat.name
    doubled.write_text("\n".join(lines + ["\t".join(fields)]) + "\n")
    run = vet.vet(vet_db["engine"], [doubled])
    by_row = {v.hit.row: v for v in run.items}
    first, copy = by_row[body.index(drifting) + 1], by_row[len(body) + 1]
    assert first.group == copy.group and copy.duplicate_of == first.hit.row and first.duplicate_of is None
    assert "one of 2 hits of one signal" in copy.record()["duplicates"]
    others = [v for v in run.items if v not in (first, copy)]
    assert len({v.group for v in others}) == len(others) and first.group not in {v.group for v in others}


def test_bad_input_one_line_per_problem_the_rest_vetted(vet_db, cli, turboseti_run, tmp_path):
    scan = turboseti_run["scans"][1][0]
    prose = tmp_path / "notes.txt"
    prose.write_text("these are my candidates\n")
    missing = tmp_path / "missing.dat"
    missing.write_text(turboseti_run["dats"][0].read_text().replace("scan0_A_SYNTH_TARGET.h5", "gone.h5"))
    truncated = tmp_path / "short.fil"
    synth.write_observation(truncated, synth.ObservationSpec(n_coarse_channels=1, seed=2))
    with truncated.open("r+b") as handle:
        handle.truncate(truncated.stat().st_size - 1000)
    plain = tmp_path / "mine.csv"
    plain.write_text(f"file,f_center_mhz\n{scan},1999.9\n{scan},2100.0\n{truncated},1999.95\n")
    before = db.row_counts(vet_db["engine"])
    code, rows, err = _vet_json(cli, prose, missing, plain)
    assert code == 1
    problems = [line for line in err.splitlines() if line.startswith("rficat: error:")]
    n_missing = len(hits.read_hits(missing)[1])
    assert len(problems) == 1 + n_missing + 2 + 1  # one per problem, and the summary
    assert any("notes.txt" in p and "not a hit table" in p for p in problems)
    assert sum("missing.dat row" in p and "gone.h5 not found" in p for p in problems) == n_missing
    assert any("mine.csv row 2" in p and "outside the file's band" in p and scan.name in p for p in problems)
    assert any("mine.csv row 3" in p and "truncated" in p for p in problems)
    good = [r for r in rows if r["error"] is None]
    assert [(Path(r["table"]).name, r["row"]) for r in good] == [("mine.csv", 1)]
    assert good[0]["verdict"] == "unjudged" and len(rows) == n_missing + 3
    assert db.row_counts(vet_db["engine"]) == before  # nothing written without --store


def test_out_csv_dat_and_directory(vet_db, cli, turboseti_run, tmp_path):
    from turbo_seti.find_event.find_event import read_dat
    from turbo_seti.find_event.find_event_pipeline import find_event_pipeline

    out = tmp_path / "vetted.csv"
    assert main(["vet", str(turboseti_run["events"][2]), "--cadence", "abacad", "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert len(frame) == len(pd.read_csv(turboseti_run["events"][2])) and {"Freq", "verdict", "f_center_mhz",
                                                                           "explanation", "evidence"} <= set(frame)
    one = tmp_path / "one.dat"
    assert main(["vet", str(turboseti_run["dats"][0]), "--out", str(one)]) == 0
    assert set(read_dat(str(one)).columns) == set(read_dat(str(turboseti_run["dats"][0])).columns)
    assert main(["vet", *map(str, turboseti_run["dats"]), "--out", str(tmp_path / "x.dat")]) == 1
    directory = tmp_path / "vetted"
    directory.mkdir()
    assert main(["vet", *map(str, turboseti_run["dats"]), "--cadence", "abacad", "--out", str(directory)]) == 0
    vetted = [directory / d.name for d in turboseti_run["dats"]]
    for original, copy in zip(turboseti_run["dats"], vetted):
        pd.testing.assert_frame_equal(read_dat(str(copy)), read_dat(str(original)))
        assert {line.split()[-1] for line in copy.read_text().splitlines() if not line.startswith("#")} == {"unjudged"}
    (tmp_path / "dats.lst").write_text("\n".join(map(str, vetted)) + "\n")
    events = find_event_pipeline(str(tmp_path / "dats.lst"), str(turboseti_run["dat_dir"] / "h5s.lst"),
                                 filter_threshold=2, number_in_cadence=6, saving=False, user_validation=False)
    assert list(events["Freq"]) == pytest.approx(list(pd.read_csv(turboseti_run["events"][2])["Freq"]))


def test_a_hit_of_a_cadence_event_takes_the_events_verdict(vet_db, turboseti_run):
    """With --cadence, vetting says of a signal what `rficat cadence search` says of its event."""
    engine, table = vet_db["engine"], turboseti_run["events"][2]
    events = cadence.search(engine, "abacad").to_dict("records")
    event_of = {int(sid): e for e in reversed(events) for sid in e["on_snippet_ids"]}
    of_events = [v for v in vet.vet(engine, [table], cadence="abacad").items if v.snippet_id in event_of]
    assert of_events  # turboSETI's level-2 events are rficat's cadence events too
    for item in of_events:
        event = event_of[item.snippet_id]
        assert item.verdict == event["verdict"] and item.evidence == list(event["evidence"])
        assert item.explanation == f"as cadence abacad's event of snippet {event['snippet_id']} (rficat cadence " \
                                   f"search): {event['explanation']}"
    assert not any(v.explanation.startswith("as cadence") for v in vet.vet(engine, [table]).items)


def test_sheets_one_png_per_event(vet_db, cli, turboseti_run, tmp_path):
    from PIL import Image

    sheets = tmp_path / "sheets"
    assert main(["vet", str(turboseti_run["events"][3]), "--cadence", "abacad", "--sheets", str(sheets)]) == 0
    pngs = sorted(sheets.glob("*.png"))
    assert [p.name for p in pngs] == ["SYNTH_TARGET_0.png"]  # find_event_pipeline's one event
    image = np.asarray(Image.open(pngs[0]).convert("RGB"), dtype=np.float64)
    assert image.shape == (1000, 1400, 3)
    assert image.std() > 20 and len(np.unique(image.reshape(-1, 3), axis=0)) > 1000  # not blank


def test_store_keeps_hits_and_a_later_ingest_still_detects(fresh_db_url, monkeypatch, capsys, turboseti_run):
    monkeypatch.setenv("RFICAT_DATABASE_URL", fresh_db_url)
    engine = db.make_engine(fresh_db_url)
    db.migrate(engine)
    ingest.ingest_file(engine, turboseti_run["scans"][1][0])  # a current model
    fast = turboseti_run["fast"]
    before = db.row_counts(engine)
    assert main(["vet", str(fast["dat"]), "--files", str(fast["path"]), "--json"]) == 0
    assert db.row_counts(engine) == before
    capsys.readouterr()
    assert main(["vet", str(fast["dat"]), "--files", str(fast["path"]), "--store", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    stored = [r["stored_snippet_id"] for r in rows]
    assert all(stored)
    with engine.connect() as conn:
        obs = conn.execute(sa.text("SELECT id, detection FROM observations WHERE path = :p"),
                           {"p": str(fast["path"].resolve())}).one()
        kept = conn.execute(sa.text("SELECT detector, count(*) FROM snippets WHERE observation_id = :o GROUP BY 1"),
                            {"o": obs.id}).all()
        assert obs.detection is None and kept == [("turboseti", len(rows))]
        searchable = conn.execute(sa.text("SELECT count(*) FROM snippet_catalogue WHERE snippet_id = ANY(:i)"),
                                  {"i": stored}).scalar()
        assert searchable == len(rows)
    summary = ingest.ingest_file(engine, fast["path"])
    assert summary.status == "ingested" and summary.observation_id == obs.id and summary.n_signal >= 1
    with engine.connect() as conn:
        detectors = dict(conn.execute(sa.text(
            "SELECT coalesce(detector, 'rficat'), count(*) FROM snippets WHERE observation_id = :o GROUP BY 1"),
            {"o": obs.id}).all())
        assert conn.execute(sa.text("SELECT detection IS NOT NULL FROM observations WHERE id = :o"),
                            {"o": obs.id}).scalar()
    assert detectors["turboseti"] == len(rows) and detectors["rficat"] == summary.n_signal
    assert ingest.ingest_file(engine, fast["path"]).status == "skipped"
    engine.dispose()


def test_a_file_only_in_the_catalogue_is_found_by_name(vet_db, cli, turboseti_run, tmp_path):
    """A table far from its data: the file is found through the catalogue (and with --cadence, in it)."""
    away = tmp_path / turboseti_run["dats"][2].name
    shutil.copy(turboseti_run["dats"][2], away)
    code, rows, err = _vet_json(cli, away)
    assert code == 0, err
    assert all(r["data_file"].endswith("scan2_A_SYNTH_TARGET.h5") and r["snippet_source"] for r in rows)
    code, rows, err = _vet_json(cli, away, "--cadence", "abacad")
    assert code == 0 and all(r["role"] == "ON" for r in rows)
    assert main(["vet", str(away), "--cadence", "nope", "--json"]) == 1
    out = cli.readouterr()
    assert out.out == "" and out.err.strip().splitlines()[-1].startswith("rficat: error: no cadence 'nope'")


def test_dedrift_window_stands_a_track_still():
    times = (np.arange(16) + 0.5) * 18.0
    x = np.zeros((16, 2048), np.float32)
    slope = 1.2  # channels per second
    for t, time in enumerate(times):
        x[t, int(round(1000 + slope * (time - times.mean())))] = 5.0
    window = vet.dedrift_window(x, 1000, slope, times)
    assert window.shape == (16, detect.WINDOW) and np.all(window.argmax(axis=1) == detect.WINDOW // 2)
    edge = vet.dedrift_window(x, 5, slope, times)  # off the block: noise mean (0), not repeated edges
    assert edge[0, :50].sum() == 0


def test_a_stored_hit_and_ingests_snippet_of_one_signal_are_one_piece_of_evidence(fresh_db_url, monkeypatch, capsys,
                                                                                    tmp_path):
    """A carrier kept by `vet --store` in a file that is then ingested has two snippets in its
    observation (detector 'table' and rficat's own); judged from another observation, they are one
    piece of evidence, in Python and in SQL."""
    from dataclasses import replace

    from rficat.catalogue import rfi

    monkeypatch.setenv("RFICAT_DATABASE_URL", fresh_db_url)
    engine = db.make_engine(fresh_db_url)
    db.migrate(engine)
    base = synth.ObservationSpec(n_coarse_channels=1, seed=40)
    carriers = [synth.Signal(f_start_mhz=float(base.frequency_mhz(c)), snr=60.0, width_hz=20.0, label="rfi")
                for c in (9000, 20000, 45000, 56000)]
    paths = []
    for i in range(4):  # reference observations (no cadence), the same stationary carriers in each
        path = tmp_path / f"ref{i}.h5"
        synth.write_observation(path, replace(base, seed=40 + i, source_name=f"REF{i}", mjd_start=60000.0 + i),
                                carriers)
        paths.append(path)
    for path in (paths[0], paths[1], paths[3]):
        ingest.ingest_file(engine, path)
    f_mhz = carriers[1].f_start_mhz
    table = tmp_path / "hits.csv"
    table.write_text(f"file,f_center_mhz,drift_rate_hz_s\n{paths[2]},{f_mhz!r},0.0\n")
    assert main(["vet", str(table), "--files", str(paths[2]), "--store", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["stored_snippet_id"]
    ingest.ingest_file(engine, paths[2])  # its own snippet of the same carrier
    rfi.build(engine, min_cluster_size=3)
    near = "abs(s.f_center_mhz - :f) < 0.0005"
    with engine.connect() as conn:
        twice = conn.execute(sa.text(
            "SELECT s.id, s.detector, o.id AS observation_id FROM snippets s JOIN observations o"
            f" ON o.id = s.observation_id JOIN rfi_bank b ON b.snippet_id = s.id WHERE o.path = :p AND {near}"),
            {"p": str(paths[2].resolve()), "f": f_mhz}).all()
        query = conn.execute(sa.text(
            f"SELECT s.id FROM snippets s JOIN observations o ON o.id = s.observation_id WHERE o.path = :p AND {near}"
            " AND s.detector IS NULL"), {"p": str(paths[3].resolve()), "f": f_mhz}).scalar_one()
        similarity = conn.execute(sa.text(
            "SELECT 1 - (b.latent <=> e.latent) FROM rfi_bank b, embeddings e WHERE e.snippet_id = :q"
            " AND b.snippet_id = ANY(:ids)"), {"q": query, "ids": [r.id for r in twice]}).scalars().all()
        sql_row = conn.execute(sa.text("SELECT verdict, evidence FROM rficat_verdict(:q)"), {"q": query}).one()
    assert sorted(r.detector or "rficat" for r in twice) == ["rficat", "table"]  # both banked
    assert len(similarity) == 2 and min(similarity) >= 0.95  # each alone would be evidence
    stored_observation = twice[0].observation_id
    python = verdicts.judge_snippets(engine, [query])[query]
    assert python.is_rfi and sql_row.verdict == python.verdict
    for evidence in (python.evidence, sql_row.evidence):
        # the other carriers, at other frequencies, are other signals: each its own piece of evidence
        of_this_carrier = [e for e in evidence if abs(e["f_center_mhz"] - f_mhz) < 0.0005]
        assert sum(e["observation_id"] == stored_observation for e in of_this_carrier) == 1
        assert len({e["observation_id"] for e in of_this_carrier}) == len(of_this_carrier) == 3  # one per observation
    assert [e["snippet_id"] for e in sql_row.evidence] == [e["snippet_id"] for e in python.evidence]
    assert python.explanation.startswith(f"{python.verdict}: {len(python.evidence)} lookalike(s)")
    # a hit on bare noise: vetting leaves the SNR floor to the verdict rule, as everywhere
    faint = tmp_path / "faint.csv"
    faint.write_text(f"file,f_center_mhz,drift_rate_hz_s\n{paths[2]},{float(base.frequency_mhz(30000))!r},0.0\n")
    [noise] = vet.vet(engine, [faint], files=[paths[2]]).items
    assert noise.snr_measured < verdicts.Rules().snr_floor
    assert noise.verdict == "unjudged" and "below" in noise.explanation
    engine.dispose()


def test_the_drift_judged_is_the_one_measured_with_the_picture():
    """A lookup is judged with its snippet's own drift and error; a cut with the table's drift, known
    to one step of a dedoppler search (turboSETI's drift resolution: 0.0102 Hz/s for GBT's product,
    more than one channel over the scan, 0.0096)."""
    data = vet.DataFile("x.h5", n_integrations=16, tsamp_s=18.253611008, foff_mhz=-2.7939677238464355e-6)
    hit = hits.HitRow(Path("t.dat"), 1, "turboseti_dat", {}, 1000.0, "centre", 0.010204)
    z = np.ones(8, np.float32)
    cut = vet.Vetted(hit, data, f_center_mhz=1000.0, latent=z, freq_vector=z, snr_measured=20.0)
    looked_up = vet.Vetted(hit, data, f_center_mhz=1000.0, latent=z, freq_vector=z, snr_measured=20.0,
                           measured_drift_hz_s=0.001, measured_drift_error_hz_s=0.002)
    # turboSETI prints whole dedoppler steps to six decimals: two steps read 0.020409, more than
    # twice the step (0.0204082); put back on the grid, a hit drifting its tolerance exactly is not
    # "drifting" by a rounding; a rate off the grid (another detector's) is left alone
    two_steps = vet.Vetted(hits.HitRow(Path("t.dat"), 2, "turboseti_dat", {}, 1000.0, "centre", 0.020409), data,
                           f_center_mhz=1000.0, latent=z, freq_vector=z, snr_measured=20.0)
    off_grid = vet.Vetted(hits.HitRow(Path("t.dat"), 3, "plain", {}, 1000.0, "centre", 0.0153), data,
                          f_center_mhz=1000.0, latent=z, freq_vector=z, snr_measured=20.0)
    query = vet.verdict_query([cut, looked_up, two_steps, off_grid], 1)
    step = query.drift_error_hz_s[0]
    assert step == pytest.approx(0.0102042, rel=1e-5) and query.drift_error_hz_s[1] == 0.002
    assert query.drift_rate_hz_s.tolist() == [step, 0.001, 2 * step, 0.0153]
    assert abs(query.drift_rate_hz_s[2]) <= verdicts.tolerance(query.drift_error_hz_s[2:3], query.tolerance_floor_hz_s[2:3],
                                                              verdicts.Rules())[0]

    # a cut picture whose path wanders (a random walk, as the table's one straight path does not
    # say) widens that error as ingest widens a track's (measures.wander); a straight line's keeps it
    rng = np.random.default_rng(5)
    line = rng.normal(size=(16, 256)).astype(np.float32)
    walk = rng.normal(size=(16, 256)).astype(np.float32)
    for offset in (-1, 0, 1):  # lines 3 channels wide
        line[np.arange(16), 120 + np.arange(16) + offset] += 8.0
        walk[np.arange(16), 128 + np.array([0, 1, 3, 5, 8, 10, 11, 12, 12, 10, 8, 5, 3, 1, 0, -1]) + offset] += 8.0
    # a chirp slowing down, off in one bin where a noise spike far away takes the peak (a stray peak,
    # given no height: it does not break the path)
    chirp = rng.normal(size=(16, 256)).astype(np.float32)
    on = np.arange(16) != 10
    for offset in (-1, 0, 1):
        chirp[np.arange(16)[on], (125 + np.array([10, 9, 8, 7, 6, 5, 4, 3, 3, 2, 1, 1, 1, 0, 0, 0]) + offset)[on]] += 8.0
    chirp[10, 60] += 60.0
    straight, wandering, curving = (vet.Vetted(hit, data, f_center_mhz=1000.0, latent=z, freq_vector=z,
                                               snr_measured=20.0, snippet=picture) for picture in (line, walk, chirp))
    errors = vet.verdict_query([straight, wandering, curving], 1).drift_error_hz_s
    assert errors[0] == pytest.approx(0.0102042, rel=1e-5)
    assert errors[1] > 3 * errors[0], errors
    assert errors[2] > 2 * errors[0], errors


def test_a_hit_turbosetis_event_holds_in_two_on_scans_does_not_fail_the_cadence_test(tmp_path):
    """The cadence test (no rficat event holds the hit's snippet) turns a candidate into likely RFI,
    unless the table's own event links the hit across ON scans: then the pipelines disagree and a
    signal in doubt stays a candidate. Only ON scans' hits, only candidates, are touched."""
    scans = [vet.DataFile(f"scan{i}.h5", tmp_path / f"scan{i}.h5", role="ON" if i % 2 == 0 else "OFF")
             for i in range(6)]

    def item(scan: int, event: str | None, verdict: str = "candidate") -> vet.Vetted:
        hit = hits.HitRow(tmp_path / "events.csv", scan + 1, "turboseti_events", {}, 2250.0, "start", event=event)
        return vet.Vetted(hit, scans[scan], verdict=verdict, explanation="the rule")

    linked = [item(0, "T_1"), item(2, "T_1")]  # turboSETI's event in two ON scans
    lone, other_on_off = item(4, "T_2"), [item(0, "T_3"), item(1, "T_3")]
    unjudged, no_table_event, held = item(2, None, "unjudged"), item(0, None), item(0, None)
    items = [*linked, lone, *other_on_off, unjudged, no_table_event, held]
    no_event = {id(v) for v in items if v is not held}
    assert vet.fail_the_cadence_test(items, no_event, "abacad") == 3
    assert [v.verdict for v in items] == ["candidate", "candidate", "likely_rfi", "likely_rfi", "candidate",
                                          "unjudged", "likely_rfi", "candidate"]
    assert lone.explanation.startswith("likely_rfi: it fails cadence abacad's ON/OFF test")
    assert lone.explanation.endswith("the verdict rule alone: the rule")
