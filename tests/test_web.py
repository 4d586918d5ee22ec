"""The web viewer (`rficat serve`) in a real browser: Debian's Chromium driven by Playwright, against
servers started on free loopback ports over a catalogue built by the demo flow."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from rficat.catalogue import rfi, search
from rficat.cli import main
from rficat.config import Settings
from rficat.store import db

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCRIPT_SOURCE = '<script>alert("source")</script>'
SCRIPT_LABEL = '<script>alert("label")</script>'


# --- servers -------------------------------------------------------------------------------------

class ServerThread:
    """The viewer's app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, app):
        import uvicorn

        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the viewer did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def fetch(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, str, str]:
    """(status, content type, body) of one request, errors included."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("content-type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read().decode()


def fetch_json(url: str):
    status, kind, body = fetch(url)
    assert status == 200 and kind.startswith("application/json"), (status, body[:500])
    return json.loads(body)


@pytest.fixture(scope="module")
def demo(prefect_harness, server_url, tmp_path_factory):
    """A catalogue built by `rficat demo`, with RFI classes, a label and a source name that are
    HTML, and one OFF scan's file moved away."""
    directory = tmp_path_factory.mktemp("web-demo")
    with db.scratch_database(server_url, "web", migrate_schema=False) as url:
        old = os.environ.get("RFICAT_DATABASE_URL")
        os.environ["RFICAT_DATABASE_URL"] = url
        try:
            assert main(["db", "init"]) == 0
            assert main(["demo", "--dir", str(directory / "demo"), "--noise", "2", "--json"]) == 0
        finally:
            if old is None:
                os.environ.pop("RFICAT_DATABASE_URL")
            else:
                os.environ["RFICAT_DATABASE_URL"] = old
        engine = db.make_engine(url)
        rfi.build(engine, min_cluster_size=5)
        classes = rfi.list_classes(engine)
        labelled = int(classes.class_id.iloc[0])
        rfi.label_class(engine, labelled, SCRIPT_LABEL)
        with engine.begin() as conn:
            members = conn.execute(sa.text(
                "SELECT o.id, o.path, m.role FROM cadence_members m JOIN observations o ON o.id = m.observation_id"
                " ORDER BY m.position")).all()
            conn.execute(sa.text("UPDATE observations SET source_name = :s WHERE id = :i"),
                         {"s": SCRIPT_SOURCE, "i": members[1].id})
        moved = Path(members[-1].path)
        moved.rename(moved.with_suffix(".moved"))
        yield {"url": url, "engine": engine, "labelled_class": labelled, "members": members,
               "unreachable": members[-1].id}
        engine.dispose()


@pytest.fixture(scope="module")
def viewer(demo):
    from rficat.web import build_viewer

    v = build_viewer(demo["url"])
    yield v
    v.engine.dispose()


@pytest.fixture(scope="module")
def site(viewer):
    from rficat.web import create_app

    with ServerThread(create_app(viewer)) as server:
        yield server.url


@pytest.fixture(scope="module")
def labelling_site(demo):
    from rficat.web import build_viewer, create_app

    v = build_viewer(demo["url"], allow_labels=True)
    with ServerThread(create_app(v)) as server:
        yield server.url
    v.engine.dispose()
    v.label_engine.dispose()


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    tab = context.new_page()
    dialogs = []  # an alert would mean a script ran
    tab.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()
    assert dialogs == []


# --- browser helpers -----------------------------------------------------------------------------

def open_page(page, url: str, status: int = 200):
    response = page.goto(url)
    assert response.status == status, page.content()[:2000]
    page.wait_for_load_state("load")
    assert "Traceback" not in page.content()
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    return response


def images_loaded(page) -> list[str]:
    """Every <img> of the page, scrolled into view (lazy ones load), has arrived with pixels."""
    page.evaluate("document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
    deadline = time.monotonic() + 60  # polled from here: the page's CSP forbids wait_for_function's eval
    while not page.evaluate("[...document.images].every(i => i.complete)"):
        assert time.monotonic() < deadline, "images still loading after 60 s"
        time.sleep(0.1)
    sources = page.evaluate("[...document.images].map(i => [i.getAttribute('src'), i.naturalWidth])")
    assert sources, "no images on the page"
    broken = [src for src, width in sources if width == 0]
    assert not broken, f"images that did not load: {broken}"
    return [src for src, _ in sources]


def screenshot(page, tmp_path: Path, name: str) -> Path:
    """A full-page screenshot in the test's folder, checked not to be blank."""
    from PIL import Image

    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    assert pixels.shape[0] > 300 and pixels.shape[1] > 300
    assert pixels.std() > 20 and len(np.unique(pixels.reshape(-1, 3)[::7], axis=0)) > 50, f"{name} looks blank"
    return path


def json_twin(page, site: str):
    href = page.get_attribute("a.json-twin", "href")
    return fetch_json(site + href)


def data_ids(page, selector: str, attribute: str = "data-snippet-id") -> list[int]:
    return [int(x) for x in page.eval_on_selector_all(selector, f"els => els.map(e => e.getAttribute('{attribute}'))")]


# --- the pages -----------------------------------------------------------------------------------

def test_catalogue_page(page, site, demo, tmp_path):
    open_page(page, site + "/")
    data = json_twin(page, site)
    assert data == fetch_json(site + "/api")
    for key, value in data["counts"].items():
        assert page.inner_text(f'td[data-key="{key}"]') == ("" if value is None else str(value))
    assert data["counts"]["observations"] == 6 and data["counts"]["signal_snippets"] > 0
    assert data["counts"]["known_rfi_snippets"] > 0
    assert sum(data["occupancy"]["counts"]) == data["counts"]["signal_snippets"]
    assert data["session_role"] == "rficat_reader"
    assert data_ids(page, "tr[data-observation-id]", "data-observation-id") == \
        [o["observation_id"] for o in data["observations"]]
    assert SCRIPT_SOURCE in page.inner_text("table.observations")  # shown as text, never run
    assert SCRIPT_SOURCE not in page.content() and "&lt;script&gt;" in page.content()
    assert "file not reachable" in page.inner_text("table.observations")
    assert "/img/occupancy.png" in images_loaded(page)
    screenshot(page, tmp_path, "catalogue")
    page.click('tr[data-cadence="demo"] a')
    assert page.url == site + "/cadence/demo"


def test_cadence_page(page, site, demo, tmp_path):
    open_page(page, site + "/cadence/demo")
    data = json_twin(page, site)
    assert data["pattern"] == "ABACAD" and data["n_events"] >= 1
    assert data_ids(page, "tr.event") == [e["snippet_id"] for e in data["events"]]
    assert page.locator("tr.event .verdict").all_inner_texts() == [e["verdict"] for e in data["events"]]
    assert page.locator("p.explanation").all_inner_texts() == [e["explanation"] for e in data["events"]]
    assert [s["reachable"] for s in data["scans"]] == [True] * 5 + [False]
    assert "file not reachable" in page.inner_text("table.scans")
    first = data["events"][0]
    assert data_ids(page, '#event-1 figure.match') == [m["snippet_id"] for m in first["lookalikes"]]
    assert SCRIPT_SOURCE in page.inner_text("table.scans")
    loaded = images_loaded(page)
    assert first["figure"] in loaded
    screenshot(page, tmp_path, "cadence")
    # the track figure was read from the files that are still there; a search from the OFF window works
    windows = first["track"]
    assert windows[-1]["search_for_this"] is None and windows[1]["search_for_this"]
    page.click(f'#event-1 a.search-this[href="{windows[1]["search_for_this"]}"]')
    assert "/window?" in page.url
    assert page.inner_text("h1") == "Window search"
    window = json_twin(page, site)
    assert window["soi"]["observation_id"] == windows[1]["observation_id"]
    assert window["search"]["given"] == {} and len(window["matches"]) == 10  # the SOI's scan is no filter
    images_loaded(page)
    screenshot(page, tmp_path, "window")


def test_snippet_page_and_a_lookalike_link(page, site, demo, tmp_path):
    events = fetch_json(site + "/api/cadence/demo")["events"]
    snippet_id = events[0]["snippet_id"]
    open_page(page, f"{site}/snippet/{snippet_id}")
    data = json_twin(page, site)
    assert data == fetch_json(f"{site}/api/snippet/{snippet_id}")
    expected = search.lookalikes(demo["engine"], snippet_id, 10)
    assert [m["snippet_id"] for m in data["matches"]] == expected.snippet_id.tolist()
    assert data_ids(page, "figure.match") == [m["snippet_id"] for m in data["matches"]]
    similarities = [float(x) for x in page.eval_on_selector_all(
        "figure.match", "els => els.map(e => e.getAttribute('data-similarity'))")]
    assert np.allclose(similarities, [m["similarity"] for m in data["matches"]])
    assert page.inner_text('td[data-key="snippet_id"]') == str(snippet_id)
    assert page.inner_text('td[data-key="f_center_mhz"]') == f"{data['soi']['f_center_mhz']:.6f} MHz"
    loaded = images_loaded(page)
    assert f"/img/snippet/{snippet_id}/figure.png" in loaded
    screenshot(page, tmp_path, "snippet")
    target = data["matches"][0]["snippet_id"]
    page.click('figure.match[data-rank="1"] a.match-link')
    page.wait_for_load_state("load")
    assert page.url == f"{site}/snippet/{target}"
    assert page.inner_text("h1") == f"Snippet {target}"
    images_loaded(page)


def test_a_filtered_search_through_the_form(page, site, demo, tmp_path):
    snippet_id = fetch_json(site + "/api/cadence/demo")["events"][0]["snippet_id"]
    open_page(page, f"{site}/snippet/{snippet_id}")
    page.fill('input[name="snr_min"]', "15")
    page.fill('input[name="k"]', "6")
    page.check('input[name="not_known_rfi"]')
    page.check('input[name="no_frequency_embedding"]')
    page.click("form.search button[type=submit]")
    page.wait_for_load_state("load")
    assert "snr_min=15" in page.url and "not_known_rfi=on" in page.url
    data = json_twin(page, site)
    assert data["search"]["given"] == {"snr_min": 15.0, "k": 6, "not_known_rfi": True,
                                       "no_frequency_embedding": True}
    filters = search.Filters(snr_min=15, not_known_rfi=True)
    expected = search.lookalikes(demo["engine"], snippet_id, 6, use_frequency=False, filters=filters)
    assert [m["snippet_id"] for m in data["matches"]] == expected.snippet_id.tolist()
    assert data_ids(page, "figure.match") == expected.snippet_id.tolist()
    assert all(m["snr"] >= 15 for m in data["matches"])
    assert page.input_value('input[name="snr_min"]') == "15.0"
    images_loaded(page)
    # the filters travel with every lookalike link
    assert "snr_min=15" in page.get_attribute('figure.match[data-rank="1"] a.match-link', "href")
    screenshot(page, tmp_path, "filtered")


def test_template_search_is_a_lookalike_page_and_is_not_saved(page, site, demo, tmp_path):
    with demo["engine"].connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM template_searches")).scalar_one()
    open_page(page, site + "/template")
    assert page.locator("figure.match").count() == 0
    page.select_option('select[name="shape"]', "drifting")
    page.fill('input[name="drift"]', "1.3")
    page.fill('input[name="snr"]', "40")
    page.fill('input[name="k"]', "5")
    page.click("form.search button[type=submit]")
    page.wait_for_load_state("load")
    data = json_twin(page, site)
    assert data["soi"]["template"]["drift_hz_s"] == 1.3 and len(data["matches"]) == 5
    assert data_ids(page, "figure.match") == [m["snippet_id"] for m in data["matches"]]
    images_loaded(page)
    screenshot(page, tmp_path, "template")
    with demo["engine"].connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM template_searches")).scalar_one() == before


def test_rfi_pages_escape_labels_and_offer_no_form_without_allow_labels(page, site, demo, tmp_path):
    open_page(page, site + "/rfi")
    data = json_twin(page, site)
    assert data_ids(page, "tr[data-class-id]", "data-class-id") == [c["class_id"] for c in data["classes"]]
    assert SCRIPT_LABEL in page.inner_text("table.classes")
    images_loaded(page)
    screenshot(page, tmp_path, "rfi")
    labelled = demo["labelled_class"]
    open_page(page, f"{site}/rfi/{labelled}")
    data = json_twin(page, site)
    assert page.inner_text('td[data-key="label"]') == data["class"]["label"] == SCRIPT_LABEL
    assert data["can_label"] is False and page.locator("form.label").count() == 0
    assert data_ids(page, "figure.snippet") == data["class"]["exemplar_ids"]
    images_loaded(page)
    screenshot(page, tmp_path, "rfi-class")
    status, _, body = fetch(f"{site}/rfi/{labelled}/label", data=b"label=x&csrf=")
    assert status == 403 and "--allow-labels" in body


def test_vetting_page_lists_stored_hits_with_their_verdicts(page, site, demo, tmp_path, monkeypatch, capsys):
    """Hits kept by `rficat vet --store` show up with the catalogue's verdict and a link to their snippet."""
    scan = demo["members"][0].path
    table = tmp_path / "hits.csv"
    freqs = [1999.9 - 0.01 * i for i in range(6)]  # windows of the ON scan; those the catalogue lacks are cut
    table.write_text("file,f_mhz\n" + "".join(f"{scan},{f}\n" for f in freqs))
    monkeypatch.setenv("RFICAT_DATABASE_URL", demo["url"])
    capsys.readouterr()
    assert main(["vet", str(table), "--store", "--json"]) == 0
    capsys.readouterr()
    open_page(page, site + "/vetting")
    data = json_twin(page, site)
    assert data["results"], "the stored hits are listed"
    first = data["results"][0]
    assert first["detector"] and first["verdict"] in ("candidate", "likely_rfi", "known_rfi", "unjudged")
    assert first["explanation"] and first["path"] == scan
    assert str(first["snippet_id"]) in page.inner_text("table.vetting") and first["verdict"] in page.inner_text("main")
    page.click(f"table.vetting a[href='/snippet/{first['snippet_id']}']")
    assert page.url.endswith(f"/snippet/{first['snippet_id']}")


def test_labels_need_allow_labels_and_the_csrf_token(page, labelling_site, demo, tmp_path):
    engine = demo["engine"]
    class_id = int(rfi.list_classes(engine).class_id.iloc[-1])
    url = f"{labelling_site}/rfi/{class_id}/label"
    for body, headers in ((b"label=forged", {}), (b"label=forged&csrf=wrong", {}),
                          (b"label=forged&csrf=wrong", {"origin": "http://evil.example"})):
        status, _, text = fetch(url, data=body, headers=headers)
        assert status == 403 and "Traceback" not in text
    assert rfi.get_class(engine, class_id)["label"] is None
    open_page(page, f"{labelling_site}/rfi/{class_id}")
    page.fill('form.label input[name="label"]', 'GPS L1 <b>carrier</b>')
    page.click("form.label button[type=submit]")
    page.wait_for_load_state("load")
    assert page.url == f"{labelling_site}/rfi/{class_id}"
    assert page.inner_text('td[data-key="label"]') == "GPS L1 <b>carrier</b>"
    assert rfi.get_class(engine, class_id)["label"] == "GPS L1 <b>carrier</b>"
    screenshot(page, tmp_path, "label")


def test_the_default_role_cannot_write(viewer):
    assert viewer.session_role == "rficat_reader" and viewer.label_engine is None
    with viewer.engine.connect() as conn:
        assert conn.execute(sa.text("SHOW default_transaction_read_only")).scalar() == "on"
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
            conn.execute(sa.text("UPDATE rfi_classes SET label = 'x'"))
        conn.rollback()
        conn.execute(sa.text("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE"))  # even then:
        conn.commit()
        with pytest.raises(sa.exc.DBAPIError, match="permission denied"):
            conn.execute(sa.text("UPDATE rfi_classes SET label = 'x'"))
        conn.rollback()
        conn.execute(sa.text("RESET ROLE"))  # back to the role of the connection's startup options
        assert conn.execute(sa.text("SELECT current_user")).scalar() == "rficat_reader"
        conn.rollback()
    viewer.engine.dispose()  # no session keeps the changed characteristics


def test_without_the_reader_role_the_viewer_says_so_and_stays_read_only(fresh_db_url, caplog):
    from rficat.web.connection import read_only_engine

    engine, role = read_only_engine(fresh_db_url, role="rficat_no_such_role")
    assert role == "postgres"
    assert "rficat_no_such_role does not exist" in caplog.text and "read-only sessions" in caplog.text
    with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
        conn.execute(sa.text("CREATE TABLE t (x int)"))
    engine.dispose()


@pytest.mark.parametrize("path, status, text", [
    ("/snippet/999999999", 404, "no snippet 999999999"),
    ("/snippet/abc", 400, "snippet_id: 'abc' is not an integer"),
    ("/snippet/1?snr_min=loud", 400, "snr_min: 'loud' is not a number"),
    ("/snippet/1?k=0", 400, "k: 0 is not between 1 and 100"),
    ("/snippet/1?f_min=nan", 400, "not a finite number"),
    ("/snippet/1?not_known_rfi=maybe", 400, "not_known_rfi"),
    ("/cadence/nosuch", 404, "no cadence 'nosuch'"),
    ("/rfi/424242", 404, "no RFI class 424242"),
    ("/template?shape=square&drift=1", 400, "shape: 'square'"),
    ("/template?shape=drifting&drift=fast", 400, "drift: 'fast' is not a number"),
    ("/window?soi_observation=424242&soi_f_mhz=1999.8", 404, "no observation 424242"),
    ("/window?soi_observation=1", 400, "soi_f_mhz: missing"),
    ("/no/such/page", 404, "no such page"),
    ("/?format=xml", 400, "format: 'xml'"),
])
def test_bad_input_gets_a_clear_page_and_json_error(page, site, path, status, text):
    open_page(page, site + path, status)
    assert text in page.inner_text("p.error")
    json_path = path if "format=" in path else ("/api" + path if not path.startswith("/no/") else path + "?format=json")
    code, kind, body = fetch(site + json_path)
    if "format=xml" in path:  # not a format: the HTML error page
        assert code == 400 and kind.startswith("text/html")
        return
    assert code == status and kind.startswith("application/json")
    assert json.loads(body) == {"error": json.loads(body)["error"], "status": status}
    assert text in json.loads(body)["error"]


def test_unknown_pictures_and_a_file_that_is_gone(site, demo):
    assert fetch(site + "/img/snippet/999999999.png")[0] == 404
    assert fetch(site + "/img/rfi/424242/occupancy.png")[0] == 404
    gone = demo["unreachable"]
    status, _, body = fetch(f"{site}/window?soi_observation={gone}&soi_f_mhz=1999.8&format=json")
    assert status == 404 and "file not reachable" in json.loads(body)["error"]


def test_only_loopback_host_names_are_served(site):
    status, _, _ = fetch(site + "/", headers={"host": "attacker.example"})
    assert status == 400  # a DNS-rebound name never reaches the catalogue


def test_a_database_that_goes_away_mid_request(page, tmp_path):
    """On a PostgreSQL server of this test's own: a request waits on a lock, the server stops under
    it, and the viewer answers 503 with a clear page; later requests too, until it is back."""
    from rficat.web import build_viewer, create_app

    home = Path(tempfile.mkdtemp(prefix="rfv-"))  # short: the socket lives in it
    home.chmod(0o755)  # run as root, the server's own user must enter it (rficat never widens it)
    settings = Settings(home=home)
    with db.init_catalogue(settings) as catalogue:
        url = catalogue.url
    viewer = build_viewer(url)
    try:
        with ServerThread(create_app(viewer)) as server:
            assert fetch(server.url + "/api")[0] == 200
            blocker = db.make_engine(url)
            conn = blocker.connect()
            conn.execute(sa.text("LOCK TABLE snippets IN ACCESS EXCLUSIVE MODE"))
            answers = []
            waiting = threading.Thread(target=lambda: answers.append(fetch(server.url + "/")))
            waiting.start()
            time.sleep(1.5)
            assert not answers, "the request should be waiting on the lock"
            db.stop_embedded(settings)
            waiting.join(60)
            status, kind, body = answers[0]
            assert status == 503 and kind.startswith("text/html")
            assert "database is not reachable" in body and "Traceback" not in body
            open_page(page, server.url + "/", 503)
            assert "not reachable" in page.inner_text("p.error")
            screenshot(page, tmp_path, "database-gone")
            status, _, body = fetch(server.url + "/api/snippet/1")
            assert status == 503 and json.loads(body)["status"] == 503
            conn.invalidate()
            blocker.dispose()
            db.start_embedded(settings)  # back: the viewer recovers without a restart
            assert fetch(server.url + "/api")[0] == 200
    finally:
        viewer.engine.dispose()
        db.stop_embedded(settings)
        shutil.rmtree(settings.home, ignore_errors=True)


def test_rficat_serve_binds_loopback_by_default(demo, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "RFICAT_DATABASE_URL": demo["url"]}
    process = subprocess.Popen([sys.executable, "-c", "import sys; from rficat.cli import main; sys.exit(main())",
                                "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if fetch(f"http://127.0.0.1:{port}/api")[0] == 200:
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "rficat serve did not start"
                time.sleep(0.3)
        listening = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
        local = [fields[1] for fields in listening if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port]
        assert local == [f"0100007F:{port:04X}"]  # 127.0.0.1 only
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert f"rficat viewer on http://127.0.0.1:{port}/ (read-only; reading as rficat_reader)" in err


def test_serve_is_documented_and_needs_no_network_assets():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "rficat serve" in readme
    static = Path(__file__).resolve().parent.parent / "rficat" / "web"
    for template in (static / "templates").glob("*.html"):
        assert "http://" not in template.read_text() and "https://" not in template.read_text()


def test_a_picture_is_drawn_once_however_many_ask_and_a_failure_is_not_kept():
    from rficat.web.pictures import PngCache

    cache, drawn, started = PngCache(), [], threading.Event()

    def draw():
        started.set()
        time.sleep(0.2)
        drawn.append(1)
        return b"png"

    cache.prefetch("a", draw)
    started.wait(5)
    answers = []
    askers = [threading.Thread(target=lambda: answers.append(cache.get("a", draw))) for _ in range(4)]
    for t in askers:
        t.start()
    for t in askers:
        t.join(5)
    assert answers == [b"png"] * 4 and drawn == [1]

    def fail():
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        cache.get("b", fail)
    assert cache.get("b", lambda: b"back") == b"back"


def test_the_occupancy_bins_are_whole_megahertz_on_a_wide_band(fresh_engine):
    from rficat.catalogue import overview

    db.migrate(fresh_engine)
    assert overview.census(fresh_engine)["occupancy"]["counts"] == []
    with fresh_engine.begin() as conn:
        obs = conn.execute(sa.text(
            "INSERT INTO observations (path, fingerprint, f_min_mhz, f_max_mhz, fch1_mhz, foff_mhz, tsamp_s,"
            " n_channels, n_integrations, header, status) VALUES ('x', 'x', 1000, 2000, 2000, -1e-6, 1, 1, 16, '{}',"
            " 'complete') RETURNING id")).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO snippets (observation_id, coarse_channel, chan_start, chan_stop, f_start_mhz, f_stop_mhz,"
            " f_center_mhz, statistic, is_signal) VALUES (:o, 0, 0, 256, :f, :f, :f, 1, true)"),
            [{"o": obs, "f": f} for f in (1000.2, 1000.7, 1500.5, 1999.9)])
    census = overview.census(fresh_engine)
    assert census["signal_snippets"] == 4 and census["by_observation"] == {obs: {"n_signal": 4, "n_noise": 0}}
    occ = census["occupancy"]
    assert occ["bin_mhz"] == 1 and occ["edges_mhz"][0] == 1000 and occ["edges_mhz"][-1] == 2000
    assert occ["counts"][0] == 2 and occ["counts"][500] == 1 and occ["counts"][-1] == 1 and sum(occ["counts"]) == 4
