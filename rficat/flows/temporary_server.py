"""Prefect's temporary API server for one rficat process, which never outlives that process.

With no ``PREFECT_API_URL``, Prefect runs flows against a temporary server: a uvicorn
subprocess (~200 MB) started on first use and stopped by an exit handler. A process killed by
SIGTERM or SIGKILL runs no exit handlers, so that server would live on, orphaned, forever.

:func:`start` starts it up front, behind a guard: a small process (``python -m
rficat.flows.temporary_server TOKEN``, in its own session so a Ctrl-C or a killed process group
does not take it along) that blocks reading a pipe whose only write end this process holds.
When this process ends, however it ends, the kernel closes that end, the guard reads end of file
and ends every process that carries this run's token in its environment: the server, which
inherits it from this process while Prefect starts it. No polling and no process ids that
could be reused; an orderly exit stops the server first (Prefect's exit handler), and the guard
then finds nothing to do.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys

from rficat.errors import RficatError

GUARD_VARIABLE = "RFICAT_PREFECT_SERVER_GUARD"
_guards: list[tuple[subprocess.Popen, int]] = []  # kept for the life of the process, with the pipe's write end


def _start_guard(token: str) -> None:
    read_end, write_end = os.pipe()  # both ends non-inheritable: no other child holds the write end
    guard = subprocess.Popen([sys.executable, "-m", __name__, token], stdin=read_end, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    os.close(read_end)
    _guards.append((guard, write_end))


def start() -> None:
    """Start Prefect's temporary server now, guarded, unless an API URL is configured or a server
    of this process (a test harness's) already runs. Prefect's own clients then use it."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return
    server = SubprocessASGIServer()  # the instance Prefect's clients look up
    if server.running:
        return
    token = secrets.token_hex(16)
    _start_guard(token)
    os.environ[GUARD_VARIABLE] = token  # only while the server process is created
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001 - a timeout, or the server exited
        server.stop()
        raise RficatError(
            f"Prefect's temporary server did not start ({str(exc).splitlines()[0]}); set "
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS higher, or PREFECT_API_URL to a running server"
        ) from exc
    finally:
        os.environ.pop(GUARD_VARIABLE, None)


def _guard(token: str) -> None:
    """Wait for the parent to end (end of file on stdin), then end the processes it marked."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while sys.stdin.buffer.read(4096):
        pass
    import psutil

    marked = []
    for process in psutil.process_iter():
        try:
            if process.pid != os.getpid() and process.environ().get(GUARD_VARIABLE) == token:
                marked.append(process)
        except psutil.Error:  # gone, a zombie, or another user's
            continue
    for process in marked:
        try:
            process.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(marked, timeout=5)
    for process in alive:
        try:
            process.kill()
        except psutil.Error:
            pass


if __name__ == "__main__":
    _guard(sys.argv[1])
