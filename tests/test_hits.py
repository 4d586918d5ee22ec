"""Hit tables of other pipelines (rficat.io.hits), read from real turboSETI output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rficat.errors import RficatError
from rficat.io import hits

HYPERSETI = Path(__file__).resolve().parent / "data" / "hyperseti-1.0.0-hits.csv"


def _hit_lines(dat: Path) -> list[str]:
    return [line for line in dat.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_turboseti_dat_rows_keep_their_columns_and_name_the_data_file(turboseti_run):
    dat = turboseti_run["dats"][0]
    kind, rows = hits.read_hits(dat)
    assert kind == "turboseti_dat"
    assert len(rows) == len(_hit_lines(dat)) > 0
    first = rows[0]
    assert list(first.columns) == list(hits.DAT_COLUMNS)
    assert first.data_file == "scan0_A_SYNTH_TARGET.h5"
    assert first.f_mhz == first.columns["Uncorrected_Frequency"]
    assert first.drift_rate_hz_s == first.columns["Drift_Rate"] and first.snr == first.columns["SNR"]
    assert first.frequency_at == "start" and first.detector == "turboseti"
    assert first.tsamp_s == pytest.approx(18.253611) and first.n_integrations == 16
    assert [r.row for r in rows] == list(range(1, len(rows) + 1))


def test_turboseti_frequency_is_the_track_start_and_is_moved_to_its_centre(turboseti_run):
    """turboSETI's frequency is where the track is in the first spectrum; the centre is half the
    track further on (~172 channels for the 3.5 Hz/s drifter)."""
    fast = turboseti_run["fast"]
    truth = fast["truth"][0]
    channel_hz = abs(fast["spec"].foff_hz)
    _, rows = hits.read_hits(fast["dat"])
    hit = min(rows, key=lambda r: abs(r.drift_rate_hz_s - truth["drift_hz_s"]))
    # the signal is Doppler-smeared over each integration (as a real one is), so its first spectrum
    # spans half an integration of drift either side of where the track starts
    half_integration_hz = abs(truth["drift_hz_s"]) * fast["spec"].tsamp_s / 2
    assert abs(hit.f_mhz - truth["f_start_mhz"]) * 1e6 < half_integration_hz + 3 * channel_hz  # the start
    # converted: the centre (synth's f_mid is the signal at the scan's midpoint)
    assert abs(hit.f_center_mhz - truth["f_mid_mhz"]) * 1e6 < half_integration_hz + 3 * channel_hz
    assert abs(hit.f_mhz - hit.f_center_mhz) * 1e6 > 150 * channel_hz
    n, tsamp = fast["spec"].n_integrations, fast["spec"].tsamp_s
    assert hit.centre_mhz(n, tsamp) == pytest.approx(hits.track_centre_mhz(hit.f_mhz, hit.drift_rate_hz_s, n, tsamp))


def test_a_real_table_with_no_hits(turboseti_run):
    kind, rows = hits.read_hits(turboseti_run["empty_dat"])
    assert kind == "turboseti_dat" and rows == []


def test_comment_and_blank_lines_among_the_hits_are_skipped(turboseti_run, tmp_path):
    dat = turboseti_run["dats"][0]
    lines = dat.read_text().splitlines()
    edited = lines[:10] + ["# looked at this one by eye", ""] + lines[10:] + ["# end of my notes"]
    commented = tmp_path / dat.name
    commented.write_text("\n".join(edited) + "\n")
    _, original = hits.read_hits(dat)
    _, rows = hits.read_hits(commented)
    assert [(r.row, r.f_mhz, r.columns) for r in rows] == [(r.row, r.f_mhz, r.columns) for r in original]


def test_find_event_pipeline_csv(turboseti_run):
    kind, rows = hits.read_hits(turboseti_run["events"][2])
    frame = pd.read_csv(turboseti_run["events"][2], index_col=0)
    assert kind == "turboseti_events"
    assert len(rows) == len(frame) > 0
    assert [r.data_file for r in rows] == list(frame["FileID"])
    assert [r.f_mhz for r in rows] == pytest.approx(list(frame["Freq"]))
    assert [r.drift_rate_hz_s for r in rows] == pytest.approx(list(frame["DriftRate"]))
    assert {"index", "status", "Hit_ID", "Source", "MJD", "DELTAT", "obs_length"} <= set(rows[0].columns)
    assert all(r.event is None for r in rows)  # filter level 2 gives no Hit_ID
    _, level3 = hits.read_hits(turboseti_run["events"][3])
    assert level3 and all(r.event == "SYNTH_TARGET_0" for r in level3)
    assert rows[0].f_center_mhz == pytest.approx(
        hits.track_centre_mhz(rows[0].f_mhz, rows[0].drift_rate_hz_s, 16, 18.253611))


def test_hyperseti_hits_csv_of_a_pinned_release():
    kind, rows = hits.read_hits(HYPERSETI)
    assert kind == "hyperseti" and len(rows) == 2
    assert rows[0].f_mhz == pytest.approx(1999.944123) and rows[0].drift_rate_hz_s == pytest.approx(-3.5204684)
    assert rows[0].snr == pytest.approx(58.7) and rows[0].n_integrations == 16
    assert rows[0].data_file is None  # hyperseti writes one table per data file and does not name it
    assert rows[0].f_center_mhz is None  # the scan's time step comes from the data file
    assert rows[0].centre_mhz(16, 18.253611) < rows[0].f_mhz  # negative drift: the centre is lower


def test_plain_csv_centre_or_start(tmp_path):
    table = tmp_path / "mine.csv"
    table.write_text("file,freq_mhz,drift_rate_hz_s,note\nobs.h5,1420.4,0.5,look\nobs.fil,1421.0,,\n")
    kind, rows = hits.read_hits(table)
    assert kind == "plain" and [r.data_file for r in rows] == ["obs.h5", "obs.fil"]
    assert rows[0].f_center_mhz == 1420.4 and rows[0].drift_rate_hz_s == 0.5 and rows[0].columns["note"] == "look"
    assert rows[1].drift_rate_hz_s is None and rows[1].f_center_mhz == 1421.0
    start = tmp_path / "start.csv"
    start.write_text("path,f_start_mhz,drift\nobs.h5,1420.4,1.0\n")
    _, rows = hits.read_hits(start)
    assert rows[0].frequency_at == "start" and rows[0].centre_mhz(16, 10.0) == pytest.approx(1420.4 + 75e-6)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"\x89HDF\r\n\x1a\n\0\0\0", "binary"),
    (b"Dear observer,\nplease vet these.\n", "not a hit table"),
    (b"a,b,c\n1,2,3\n", "not a hit table"),
])
def test_a_table_of_no_known_format_is_one_clear_error(tmp_path, content, message):
    table = tmp_path / "table.dat"
    table.write_bytes(content)
    with pytest.raises(RficatError, match=message) as error:
        hits.read_hits(table)
    assert str(table) in str(error.value) and "\n" not in str(error.value)


def test_a_vetted_dat_is_still_read_by_turboseti_itself(turboseti_run, tmp_path):
    """write_dat adds a trailing column that turboSETI's read_dat and find_event_pipeline ignore."""
    from turbo_seti.find_event.find_event import read_dat
    from turbo_seti.find_event.find_event_pipeline import find_event_pipeline

    vetted = []
    for dat in turboseti_run["dats"]:
        _, rows = hits.read_hits(dat)
        out = tmp_path / dat.name
        hits.write_dat(dat, out, {r.row: "likely rfi" if r.row % 2 else "candidate" for r in rows})
        pd.testing.assert_frame_equal(read_dat(str(out)), read_dat(str(dat)))
        assert [line.split()[-1] for line in _hit_lines(out)] == [
            "likely_rfi" if r.row % 2 else "candidate" for r in rows]
        _, again = hits.read_hits(out)
        assert [r.columns["verdict"] for r in again] == [line.split()[-1] for line in _hit_lines(out)]
        vetted.append(out)
    (tmp_path / "dats.lst").write_text("\n".join(map(str, vetted)) + "\n")
    h5s = turboseti_run["dat_dir"] / "h5s.lst"
    events = find_event_pipeline(str(tmp_path / "dats.lst"), str(h5s), filter_threshold=2, number_in_cadence=6,
                                 saving=False, user_validation=False)
    expected = pd.read_csv(turboseti_run["events"][2], index_col=0)
    assert list(events["Freq"]) == pytest.approx(list(expected["Freq"]))


def test_a_vetted_copy_of_a_commented_table_leaves_the_comments_out(turboseti_run, tmp_path):
    from turbo_seti.find_event.find_event import read_dat

    dat = turboseti_run["dats"][0]
    lines = dat.read_text().splitlines()
    commented = tmp_path / "commented.dat"
    commented.write_text("\n".join(lines[:10] + ["# a note", ""] + lines[10:]) + "\n")
    out = tmp_path / "vetted.dat"
    hits.write_dat(commented, out, {})
    pd.testing.assert_frame_equal(read_dat(str(out)), read_dat(str(dat)))
    empty = tmp_path / "empty.dat"
    hits.write_dat(turboseti_run["empty_dat"], empty, {})
    assert hits.read_hits(empty)[1] == [] and len(read_dat(str(empty))) == 0
