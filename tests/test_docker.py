"""The production compose file, checked as far as possible without a Docker daemon."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from rficat.config import normalise_database_url

DOCKER = Path(__file__).resolve().parent.parent / "docker"


def load_compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_services_and_dependencies_are_consistent():
    compose = load_compose()
    services = compose["services"]
    assert {"db", "prefect-server", "worker", "migrate"} <= set(services)
    assert "pgvector" in services["db"]["image"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"


def test_worker_reaches_the_catalogue_and_prefect():
    services = load_compose()["services"]
    env = services["worker"]["environment"]
    url = normalise_database_url(env["RFICAT_DATABASE_URL"])
    host = re.search(r"@([^:/]+)", url).group(1)
    assert host in services and "pgvector" in services[host]["image"]
    api_host = re.search(r"//([^:/]+)", env["PREFECT_API_URL"]).group(1)
    assert api_host in services


def test_dockerfile_copies_only_existing_paths():
    root = DOCKER.parent
    build = load_compose()["services"]["worker"]["build"]
    dockerfile = (DOCKER / build["context"] / build["dockerfile"]).resolve()
    assert dockerfile.is_file()
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (root / source).exists(), f"Dockerfile copies missing {source}"


def test_the_viewer_serves_the_catalogue_on_the_hosts_loopback_only():
    services = load_compose()["services"]
    viewer = services["viewer"]
    assert viewer["command"].startswith("rficat serve") and "--allow-labels" not in viewer["command"]
    url = normalise_database_url(viewer["environment"]["RFICAT_DATABASE_URL"])
    assert re.search(r"@([^:/]+)", url).group(1) == "db"
    port = re.search(r"--port (\d+)", viewer["command"]).group(1)
    assert viewer["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert viewer["build"] == services["worker"]["build"]
    assert viewer["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_dask_workers_join_the_scheduler_the_flows_use():
    services = load_compose()["services"]
    scheduler, worker = services["dask-scheduler"], services["dask-worker"]
    port = re.search(r"--port (\d+)", scheduler["command"]).group(1)
    address = f"tcp://dask-scheduler:{port}"
    assert services["worker"]["environment"]["RFICAT_DASK_ADDRESS"] == address  # the flows send files there
    assert worker["command"].startswith(f"dask worker {address}")
    preload = re.search(r"--preload (\S+)", worker["command"]).group(1)
    module = DOCKER.parent / (preload.replace(".", "/") + ".py")  # not imported here: it loads Prefect
    assert "def dask_setup(worker)" in module.read_text()
    env = worker["environment"]
    assert re.search(r"@([^:/]+)", normalise_database_url(env["RFICAT_DATABASE_URL"])).group(1) == "db"
    assert env["TF_NUM_INTRAOP_THREADS"] == "1" and "--nthreads 1" in worker["command"]
    # workers read the files the flows name: the landing directory at the same path
    assert any(v.split(":")[1] == "/data/landing" for v in worker["volumes"])
    assert worker["build"] == services["worker"]["build"]
