"""`rficat db ...` through the real entry point, on the embedded server and an external URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from conftest import cli_on, insert_snippets

from rficat.cli import main
from rficat.store import db


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_db_init_is_idempotent(catalogue, capsys):
    for _ in range(2):
        code, out, _ = run_cli(capsys, "db", "init", "--json")
        assert code == 0
        assert json.loads(out)["revision"] == db.head_revision()
    code, out, _ = run_cli(capsys, "db", "status", "--json")
    status = json.loads(out)
    assert code == 0 and status["embedded"] is True
    assert status["pgvector"].startswith("0.")
    assert set(status["rows"]) == set(db.CATALOGUE_TABLES)
    assert set(status["files"]) == {"observations", "sampled_fingerprints", "sampled_fingerprints_file_missing",
                                    "files_missing", "failed_files"}


def test_db_status_weighs_the_hnsw_graphs_against_shared_buffers(fresh_db_url, monkeypatch, capsys):
    """`memory` in db status: shared_buffers and the graphs searches walk, as the server counts them."""
    engine = db.make_engine(fresh_db_url)
    db.migrate(engine, "head")
    with engine.begin() as conn:
        insert_snippets(conn, 3000)
        model = conn.execute(sa.text(
            "INSERT INTO models (name, version, latent_dim, fingerprint) VALUES ('m', 1, 8, 'fp') RETURNING id")).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO embeddings (snippet_id, model_id, latent, freq_vector) SELECT id, :m, v, v FROM"
            " (SELECT id, ARRAY[random(), random(), random(), random(), random(), random(), random(), random()]"
            "::real[]::vector AS v FROM snippets) r"), {"m": model})
    assert db.index_pending(engine) == 3000
    with engine.connect() as conn:
        shared_mb = conn.execute(sa.text("SELECT pg_size_bytes(current_setting('shared_buffers')) / 1048576")).scalar_one()
        graphs_mb = conn.execute(sa.text("SELECT sum(pg_relation_size(indexrelid)) / 1048576.0 FROM pg_stat_user_indexes"
                                         " WHERE indexrelname LIKE '%hnsw%'")).scalar_one()
    engine.dispose()
    code, out, _ = run_cli(cli_on(fresh_db_url, monkeypatch, capsys), "db", "status", "--json")
    memory = json.loads(out)["memory"]
    assert code == 0 and memory["shared_buffers_mb"] == shared_mb
    assert graphs_mb > 0 and memory["hnsw_graphs_mb"] == pytest.approx(float(graphs_mb), abs=0.05)
    assert memory["graphs_fit_in_shared_buffers"] is True and memory["huge_pages"] in ("on", "off")


def test_a_new_embedded_server_is_tuned_for_search(server_url):
    """shared_buffers large enough to hold the HNSW index of ~10^6 vectors, not PostgreSQL's 128 MB."""
    engine = sa.create_engine(server_url)
    with engine.connect() as conn:
        megabytes = conn.execute(sa.text(
            "SELECT setting::bigint * 8 / 1024 FROM pg_settings WHERE name = 'shared_buffers'")).scalar()
    engine.dispose()
    assert megabytes == db.embedded_shared_buffers_mb() and megabytes >= 128


def test_db_url_connects_from_another_process(catalogue, capsys):
    """A notebook (another process) reaches the same embedded server with the printed URL."""
    code, out, _ = run_cli(capsys, "db", "url", "--json")
    urls = json.loads(out)
    script = ("import sqlalchemy as sa, sys; e = sa.create_engine(sys.argv[1]);"
              "print(e.connect().execute(sa.text('SELECT count(*) FROM snippets')).scalar())")
    result = subprocess.run([sys.executable, "-c", script, urls["sqlalchemy_url"]],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 0
    import psycopg
    with psycopg.connect(urls["libpq_url"]) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_database_url_is_honoured(fresh_db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RFICAT_DATABASE_URL", fresh_db_url.replace("postgresql+psycopg://", "postgresql://"))
    monkeypatch.setenv("RFICAT_HOME", str(tmp_path / "home"))
    code, out, _ = run_cli(capsys, "db", "init", "--json")
    assert code == 0 and json.loads(out)["embedded"] is False
    engine = sa.create_engine(fresh_db_url)
    assert db.current_revision(engine) == db.head_revision()
    engine.dispose()
    assert not (tmp_path / "home" / "pgdata").exists(), "embedded server must not be used"


def _assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("rficat: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("url, fragment", [
    ("postgresql://nobody@127.0.0.1:1/rficat", "127.0.0.1:1"),
    ("postgresql://nobody@no-such-host.invalid/rficat", "no-such-host.invalid"),
])
def test_unreachable_database_url(monkeypatch, capsys, url, fragment):
    monkeypatch.setenv("RFICAT_DATABASE_URL", url)
    code, _, err = run_cli(capsys, "db", "status")
    _assert_one_line_error(code, err, "cannot connect", fragment)


def test_wrong_database_name(server_url, monkeypatch, capsys):
    url = sa.engine.make_url(server_url).set(database="no_such_db").render_as_string(hide_password=False)
    monkeypatch.setenv("RFICAT_DATABASE_URL", url)
    code, _, err = run_cli(capsys, "db", "init")
    _assert_one_line_error(code, err, "no_such_db")


def test_user_who_cannot_install_pgvector(server_url, fresh_db_url, monkeypatch, capsys):
    """pgvector is not a trusted extension: an ordinary user gets told what to ask for."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    database = sa.engine.make_url(fresh_db_url).database
    with admin.connect() as conn:
        conn.execute(sa.text("DROP ROLE IF EXISTS plain_user"))
        conn.execute(sa.text("CREATE ROLE plain_user LOGIN"))
        conn.execute(sa.text(f'ALTER DATABASE "{database}" OWNER TO plain_user'))
    url = sa.engine.make_url(fresh_db_url).set(username="plain_user").render_as_string(hide_password=False)
    monkeypatch.setenv("RFICAT_DATABASE_URL", url)
    code, _, err = run_cli(capsys, "db", "init")
    _assert_one_line_error(code, err, "CREATE EXTENSION vector")
    engine = sa.create_engine(fresh_db_url)
    assert db.current_revision(engine) is None, "nothing may be written"
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{database}" OWNER TO postgres'))
        conn.execute(sa.text("DROP ROLE plain_user"))
    admin.dispose()


def test_unwritable_home(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("RFICAT_HOME", str(blocker / "home"))
    code, _, err = run_cli(capsys, "db", "init")
    _assert_one_line_error(code, err, "RFICAT_HOME", str(blocker / "home"))


def test_unreadable_config_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "config.toml").write_text("database_url = [unclosed")
    monkeypatch.setenv("RFICAT_HOME", str(tmp_path))
    code, _, err = run_cli(capsys, "db", "url")
    _assert_one_line_error(code, err, "config.toml")


def test_console_script_installed():
    """The `rficat` entry point is on PATH next to this interpreter, as the README promises."""
    exe = os.path.join(os.path.dirname(sys.executable), "rficat")
    result = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "db" in result.stdout
