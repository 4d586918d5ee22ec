"""The web viewer's speed: a snippet page with 10 lookalikes and a cadence page, as a browser gets them.

A fresh database on the embedded server gets the demo ABACAD cadence, ingested for real (real
arrays, the shipped model's vectors, RFI classes built on it), then N more snippet rows in an
observation outside the cadence by binary COPY: real-size 4 KiB arrays (copies of the demo's
arrays) and vectors scattered around the demo's real latent vectors (with the model's frequency
embedding for frequencies across 1000-2000 MHz), then both HNSW indexes by one bulk build each.
The viewer runs as `rficat serve` in a process of its own, and a client on one keep-alive HTTP
connection measures, per page:

- the HTML: from request to the last byte (server time plus loopback transfer);
- until the first image has arrived: the HTML, then the page's first <img> (cold: never rendered);
- snippet page: all 10 lookalike thumbnails fetched one after another, for information;
- cadence page, on a freshly started server each time (every picture cold, the server warmed by
  one other page first): the first event's track figure (its six scans read again from the
  files), which the page loads lazily below the events table.

- the catalogue page (counts, occupancy over every snippet): the HTML, for information.

    python benchmarks/bench_viewer.py [--sizes 100000] [--queries 100] [--cadence-repeats 10] [--keep]

``--keep`` leaves the database (``bench_viewer_<rows>``) on the embedded server and reuses it next
time, so a rerun measures without loading again; drop it with ``DROP DATABASE`` when done.
"""

from __future__ import annotations

import logging
import sys

# before rficat pulls in setigen -> blimpy, whose import points the root logger at stdout
logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

import argparse
import contextlib
import html
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from rficat.catalogue import cadence, ingest, models, rfi
from rficat.config import load_settings
from rficat.store import db, pgcopy
from rficat.synthetic import synth

CHUNK = 20_000


def build_catalogue(url: str, n: int, rng: np.random.Generator, directory: Path) -> dict:
    engine = db.make_engine(url)
    timings = {}
    t = time.perf_counter()
    scans = synth.demo_cadence(directory, seed=1)
    for path, _, _ in scans:
        ingest.ingest_file(engine, path, n_noise_per_channel=2)
    cadence.add_cadence(engine, "demo", [p for p, _, _ in scans])
    rfi.build(engine, min_cluster_size=5)
    timings["demo_ingest_s"] = round(time.perf_counter() - t, 1)
    model_id = models.require_current_model(engine)
    embed = models.frequency_embedding(engine, model_id)
    with engine.begin() as conn:
        real = conn.execute(sa.text(
            "SELECT a.data, e.latent::text FROM snippets s JOIN embeddings e ON e.snippet_id = s.id"
            " JOIN snippet_arrays a ON a.snippet_id = s.id"
            " WHERE e.model_id = :m AND s.is_signal"), {"m": model_id}).all()
        for (index,) in conn.execute(sa.text(  # the model's HNSW graphs, rebuilt in bulk below
                "SELECT indexname FROM pg_indexes WHERE tablename = :t AND indexdef LIKE '%USING hnsw%'"),
                {"t": f"embeddings_m{model_id}"}).all():
            conn.execute(sa.text(f'DROP INDEX "{index}"'))
        obs = conn.execute(sa.text(
            "INSERT INTO observations (path, fingerprint, source_name, f_min_mhz, f_max_mhz, fch1_mhz, foff_mhz,"
            " tsamp_s, n_channels, n_integrations, header, mjd_start, status, detection) VALUES ('bench.h5', 'bench',"
            " 'BENCH', 1000, 2000, 2000, -2.7939677238464355e-06, 18.253611008, 357913941, 16, '{}', 59000,"
            " 'complete', '{\"time_bin_s\": 18.253611008}') RETURNING id")).scalar_one()
        first_id = conn.execute(sa.text("SELECT max(id) + 1 FROM snippets")).scalar_one()
    arrays = np.stack([np.frombuffer(r[0], np.uint8) for r in real])
    latents = np.array([json.loads(r[1]) for r in real], np.float32)
    t = time.perf_counter()
    with db.raw_connection(engine) as conn:
        for start in range(0, n, CHUNK):
            m = min(CHUNK, n - start)
            ids = np.arange(first_id + start, first_id + start + m, dtype=np.int64)
            pick = rng.integers(0, len(real), m)
            f_center = rng.uniform(1000, 2000, m)
            latent = latents[pick] + 0.05 * rng.normal(size=(m, latents.shape[1])).astype(np.float32)
            freq_vector = embed.apply(latent, f_center).astype(np.float32)
            with conn.cursor() as cur:
                with cur.copy(f"COPY snippets ({', '.join(ingest.SNIPPET_COLUMNS[:13])}) FROM STDIN WITH (FORMAT BINARY)") \
                        as copy:
                    pgcopy.copy_rows(copy, [("int8", ids), ("int8", np.full(m, obs)), ("int4", np.zeros(m)),
                                            ("int8", ids * 256), ("int8", ids * 256 + 256),
                                            ("float8", f_center + 3.57e-4), ("float8", f_center - 3.57e-4),
                                            ("float8", f_center), ("float8", rng.uniform(512, 1e5, m)),
                                            ("float8", rng.uniform(10, 100, m)), ("float8", rng.uniform(-2, 2, m)),
                                            ("float8", rng.uniform(3, 500, m)), ("bool", np.ones(m, bool))],
                                      chunk_rows=2048)
                ingest.copy_arrays(cur, ids, arrays[pick])
                with cur.copy("COPY embeddings (snippet_id, model_id, latent, freq_vector, indexed, f_center_mhz)"
                              " FROM STDIN WITH (FORMAT BINARY)") as copy:
                    pgcopy.copy_rows(copy, [("int8", ids), ("int4", np.full(m, model_id)), ("vector", latent),
                                            ("vector", freq_vector), ("bool", np.ones(m, bool)),
                                            ("float8", f_center)], chunk_rows=8192)
            conn.commit()
        with conn.cursor() as cur:
            cur.execute("SELECT setval('snippets_id_seq', %s)", (int(first_id + n),))
        conn.commit()
    timings["copy_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("SET maintenance_work_mem = '2GB'"))
        conn.execute(sa.text("SET max_parallel_maintenance_workers = 1"))
        # the product's own graphs: over every vector and one per frequency band
        conn.execute(sa.text("SELECT rficat_index_model(:m)"), {"m": model_id})
        conn.execute(sa.text("SELECT rficat_index_pending()"))
        for table in ("observations", "snippets", "embeddings", "rfi_assignments"):
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))
        total = conn.execute(sa.text("SELECT count(*) FROM snippets")).scalar_one()
    timings["hnsw_build_s"] = round(time.perf_counter() - t, 1)
    engine.dispose()
    return {"snippets": total, **timings}


class Client:
    """One keep-alive HTTP connection, as a browser tab holds."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(self, path: str) -> tuple[float, bytes]:
        t = time.perf_counter()
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        body = response.read()
        assert response.status == 200, (path, response.status, body[:300])
        return time.perf_counter() - t, body


def first_image(page: bytes) -> str:
    return html.unescape(re.search(rb'<img[^>]+src="([^"]+)"', page).group(1).decode())


def pct(values: list[float]) -> dict:
    ms = np.array(values) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "max_ms": round(float(ms.max()), 1)}


class Viewer:
    """`rficat serve` on a free loopback port, in a process of its own."""

    def __init__(self, url: str):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from rficat.cli import main; sys.exit(main())", "serve",
             "--port", str(self.port)], env={**os.environ, "RFICAT_DATABASE_URL": url}, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert self.process.poll() is None and time.monotonic() < deadline, "rficat serve did not start"
                time.sleep(0.2)
        self.client = Client(self.port)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def measure(url: str, queries: int, cadence_repeats: int, rng: np.random.Generator) -> dict:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT max(id) FROM snippets")).scalar_one()
    engine.dispose()
    viewer = Viewer(url)
    client = viewer.client
    try:
        # warm-up as a running server is: matplotlib loaded, the axes frame drawn once, pools open
        _, page = client.get("/snippet/1")
        client.get(first_image(page))
        html_s, first_s, thumbs_s = [], [], []
        for snippet_id in rng.integers(1, n + 1, queries):
            t_html, page = client.get(f"/snippet/{snippet_id}")
            assert page.count(b'class="snippet match"') == 10, snippet_id
            t_image, _ = client.get(first_image(page))
            sources = [html.unescape(s.decode()) for s in re.findall(rb'<img src="(/img/snippet/\d+\.png)"', page)]
            t_thumbs = sum(client.get(s)[0] for s in sources)
            html_s.append(t_html)
            first_s.append(t_html + t_image)
            thumbs_s.append(t_thumbs)
        snippet = {"html": pct(html_s), "until_first_image": pct(first_s), "ten_thumbnails_sequential": pct(thumbs_s)}
        catalogue = {"html": pct([client.get("/")[0] for _ in range(5)])}
    finally:
        viewer.close()
    c_html, c_first, c_track = [], [], []
    for _ in range(cadence_repeats):
        viewer = Viewer(url)  # every picture cold
        try:
            _, page = viewer.client.get("/snippet/1")  # a warm server otherwise: imports done, pools open
            viewer.client.get(first_image(page))
            t_html, page = viewer.client.get("/cadence/demo")
            t_image, _ = viewer.client.get(first_image(page))
            track = html.unescape(re.search(rb'<img class="plot track" src="([^"]+)"', page).group(1).decode())
            t_track, _ = viewer.client.get(track)
        finally:
            viewer.close()
        c_html.append(t_html)
        c_first.append(t_html + t_image)
        c_track.append(t_html + t_track)
    events = page.count(b'<tr class="event')
    cadence_page = {"events": events, "html": pct(c_html), "until_first_image": pct(c_first),
                    "until_first_track_figure": pct(c_track)}
    return {"snippet_page_k10": snippet, "cadence_page": cadence_page, "catalogue_page": catalogue}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000", help="extra snippet rows, comma-separated")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--cadence-repeats", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the database bench_viewer_<rows>")
    args = parser.parse_args()
    server = db._with_database(db.start_embedded(load_settings()), "postgres")
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        rng = np.random.default_rng(n)
        with contextlib.ExitStack() as stack:
            if args.keep:
                url, built = kept_database(server, n), None
                if url is None:
                    url = created_database(server, n)
                    directory = Path(load_settings().home) / f"bench_viewer_{n}"  # the files must stay
                    built = build_catalogue(url, n, rng, directory)
            else:
                url = stack.enter_context(db.scratch_database(server, "bench_viewer"))
                directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                print(f"{n} extra rows: loading", file=sys.stderr)
                built = build_catalogue(url, n, rng, directory)
            built = built or {"snippets": n, "reused": True}
            print(f"{built}; measuring", file=sys.stderr)
            results.append({**built, **measure(url, args.queries, args.cadence_repeats, rng)})
            print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps(results, indent=2))


def _named(server: str, n: int) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    name = f"bench_viewer_{n}"
    return name, make_url(server).set(database=name).render_as_string(hide_password=False)


def kept_database(server: str, n: int) -> str | None:
    name, url = _named(server, n)
    admin = sa.create_engine(server)
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
    admin.dispose()
    return url if exists else None


def created_database(server: str, n: int) -> str:
    name, url = _named(server, n)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = db.make_engine(url)
    db.migrate(engine)
    engine.dispose()
    return url


if __name__ == "__main__":
    main()
