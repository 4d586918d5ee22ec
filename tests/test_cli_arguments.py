"""Values argparse accepts but that make no sense: one line naming the option or setting, exit 1."""

from __future__ import annotations

import pytest

from rficat.catalogue import rfi, search
from rficat.cli import main
from rficat.errors import RficatError


def one_line_error(capsys, argv: list[str]) -> str:
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith("rficat: error: ") and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("argv, fragment", [
    (["query", "--soi", "1", "--f-min", "1500", "--f-max", "1400"], "f_min_mhz (--f-min) 1500 is above f_max_mhz (--f-max) 1400"),
    (["query", "--soi", "1", "--snr-min", "30", "--snr-max", "10"], "snr_min (--snr-min) 30 is above snr_max (--snr-max) 10"),
    (["template", "--drift-min", "2", "--drift-max", "-2"], "drift_min_hz_s (--drift-min) 2 is above drift_max_hz_s (--drift-max) -2"),
    (["template", "--mjd-min", "60001", "--mjd-max", "60000"], "mjd_min (--mjd-min) 60001 is above mjd_max (--mjd-max) 60000"),
    (["query", "--soi", "1", "--group-mhz", "-0.001"], "--group-mhz must be at least 0"),
    (["query", "--soi", "1", "-k", "0"], "-k must be at least 1"),
    (["rfi", "build", "--min-cluster-size", "1"], "--min-cluster-size must be at least 2"),
    (["rfi", "build", "--sample", "0"], "--sample must be at least 1"),
    (["ingest", "x.h5", "--noise", "-1"], "--noise must be at least 0"),
    (["cadence", "search", "c", "--max-missing-on", "-1"], "--max-missing-on must be at least 0"),
])
def test_senseless_options_are_one_line_each(capsys, argv, fragment):
    """Checked before any database or file is touched (no fixture: nothing else exists here)."""
    assert fragment in one_line_error(capsys, argv)


def test_an_unknown_cadence_filter_is_named(catalogue, capsys):
    line = one_line_error(capsys, ["query", "--soi", "1", "--in-cadence", "no-such-cadence"])
    assert "no cadence named 'no-such-cadence'" in line


@pytest.mark.parametrize("url, fragment", [
    ("not a url", "RFICAT_DATABASE_URL 'not a url' is not a URL"),
    ("sqlite:///catalogue.db", "is a sqlite URL; rficat needs PostgreSQL"),
    ("mysql://me:secret@db.example.org/rficat", "is a mysql URL"),
    ("postgresql://me:secret@db.example.org:port/rficat", "is not a valid URL"),
    ("postgresql+psycopg2://me@db.example.org/rficat", "names the driver 'psycopg2'"),
])
def test_a_database_url_that_is_not_postgresql(monkeypatch, capsys, url, fragment):
    monkeypatch.setenv("RFICAT_DATABASE_URL", url)
    line = one_line_error(capsys, ["db", "status"])
    assert fragment in line and "secret" not in line


def test_a_database_url_in_the_config_file_is_named_as_such(tmp_path, monkeypatch, capsys):
    (tmp_path / "config.toml").write_text('database_url = "localhost/rficat"\n')
    monkeypatch.setenv("RFICAT_HOME", str(tmp_path))
    monkeypatch.delenv("RFICAT_DATABASE_URL", raising=False)
    assert "database_url in" in one_line_error(capsys, ["db", "url"])


def test_the_library_refuses_the_same_searches(catalogue):
    """Python callers get the same refusals as the CLI, named by parameter."""
    engine = catalogue.engine
    with pytest.raises(RficatError, match=r"f_min_mhz \(--f-min\) 2 is above f_max_mhz \(--f-max\) 1"):
        search.lookalikes(engine, 1, filters=search.Filters(f_min_mhz=2, f_max_mhz=1))
    with pytest.raises(RficatError, match="group_mhz must be 0 or more"):
        search.lookalikes(engine, 1, group_mhz=-1)
    with pytest.raises(RficatError, match="no cadence named 'nowhere'"):
        search.lookalikes(engine, 1, filters=search.Filters(cadence="nowhere"))
    with pytest.raises(RficatError, match="min_cluster_size must be at least 2"):
        rfi.build(engine, min_cluster_size=1)
    with pytest.raises(RficatError, match="sample must be at least 1"):
        rfi.build(engine, sample=0)
