"""The viewer's web application (Starlette, server-rendered Jinja2 templates, no JavaScript).

Routes: each page of ``rficat.web.pages`` at its path and at ``/api<path>`` (or with
``?format=json``), the PNG pictures under ``/img/``, and, only with ``--allow-labels``, the
label form's POST. Errors become an error page or a JSON error with the right status code
(400 bad input, 403 forbidden, 404 unknown id, 503 database unreachable); a traceback goes to
the server's log only.
"""

from __future__ import annotations

import builtins
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import sqlalchemy as sa
from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import rficat.web.pages as pages  # as modules, not through the package (which imports this one)
import rficat.web.pictures as pictures
from rficat.catalogue import overview, rfi, search
from rficat.errors import RficatError
from rficat.web.connection import label_engine, read_only_engine
from rficat.web.pages import NotFound, Viewer, plain
from rficat.web.params import BadParameter, number

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; script-src 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
IMAGE_MAX_AGE = "private, max-age=3600"
PREFETCH_TRACKS = 1  # a cadence page's first track figure, drawn as soon as the page is known


class Forbidden(PermissionError):
    """A write without --allow-labels, or without the CSRF token (403)."""


# --- errors ------------------------------------------------------------------------------------

_UNREACHABLE_SQLSTATE = ("08", "57")  # connection exception; operator intervention (shutdown, cancel)


def _database_unreachable(exc: BaseException) -> bool:
    """Whether an error (or one it was raised from or during) means the database went away."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)):
            return True
        if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
            return True
        state = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "orig", None), "sqlstate", None)
        if state and state[:2] in _UNREACHABLE_SQLSTATE:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def classify(exc: BaseException) -> tuple[int, str]:
    """The status code and the one-line message a person sees for an error."""
    if isinstance(exc, HTTPException):
        return exc.status_code, {404: "no such page", 405: "method not allowed"}.get(exc.status_code, exc.detail)
    if isinstance(exc, NotFound):
        return 404, str(exc)
    if isinstance(exc, BadParameter):
        return 400, f"bad parameter: {exc}"
    if isinstance(exc, Forbidden):
        return 403, str(exc)
    if _database_unreachable(exc):
        return 503, "the catalogue database is not reachable; try again when it is back"
    if isinstance(exc, RficatError):
        return 400, str(exc)
    return 500, "internal error (details are in the server's log)"


def wants_json(request: Request) -> bool:
    form = request.query_params.get("format", "html")
    if form not in ("html", "json"):
        raise BadParameter(f"format: {form!r} is not html or json")
    return request.url.path == "/api" or request.url.path.startswith("/api/") or form == "json"


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content) -> bytes:
        return json.dumps(plain(content), default=str, allow_nan=False).encode()


# --- the application ---------------------------------------------------------------------------

def _environment() -> Environment:
    env = Environment(loader=PackageLoader("rficat.web", "templates"), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals["format"] = lambda fmt, value: builtins.format(value, fmt)
    return env


def _json_url(request: Request) -> str:
    path = request.url.path
    if path.startswith("/api"):
        return str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "format" and v] + [("format", "json")]
    return f"{path}?{urlencode(query)}"


def create_app(viewer: Viewer, trusted_hosts: list[str] | None = None) -> Starlette:
    """The viewer over ``viewer``'s connections; ``trusted_hosts`` (default: loopback names) guards
    against DNS rebinding of a local server."""
    env = _environment()

    def html(template: str, title: str, data, request: Request, code: int = 200, **extra) -> HTMLResponse:
        body = env.get_template(template).render(data=data, title=title, json_url=_json_url(request),
                                                 allow_labels=viewer.allow_labels, csrf_token=viewer.csrf_token,
                                                 **extra)
        return HTMLResponse(body, status_code=code)

    def error(request: Request, exc: BaseException) -> Response:
        status, message = classify(exc)
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, message,
                      exc_info=exc if status == 500 else None)
        try:
            as_json = wants_json(request)
        except BadParameter:
            as_json = False
        if as_json:
            return JsonResponse({"error": message, "status": status}, status_code=status)
        if request.url.path.startswith(("/img/", "/static/")):
            return Response(message, status_code=status, media_type="text/plain")
        try:
            return html("error.html", f"Error {status}", None, request, status, status=status, message=message)
        except Exception:  # noqa: BLE001 - the error page itself must never fail with a traceback
            log.exception("rendering the error page failed")
            return Response(f"{status} {message}", status_code=status, media_type="text/plain")

    def page(template: str, title: Callable[[dict], str], build: Callable[[Request], dict]):
        def endpoint(request: Request) -> Response:
            try:
                as_json = wants_json(request)
                data = build(request)
                if not as_json and template == "cadence.html":  # its figures are drawn while the page travels
                    for event in data["events"][:PREFETCH_TRACKS]:
                        viewer.pictures.prefetch(*track_picture(data["cadence"], event["snippet_id"]))
                return JsonResponse(data) if as_json else html(template, title(data), data, request)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a clear page, never a traceback
                return error(request, exc)
        return endpoint

    def image(render: Callable[[Request], tuple[object, Callable[[], bytes]]], cache_control: str = IMAGE_MAX_AGE):
        def endpoint(request: Request) -> Response:
            try:
                key, draw = render(request)
                body = viewer.pictures.get(key, draw) if key is not None else draw()
                return Response(body, media_type="image/png", headers={"cache-control": cache_control})
            except Exception as exc:  # noqa: BLE001
                return error(request, exc)
        return endpoint

    def int_param(request: Request, name: str) -> int:
        return number(name, request.path_params[name], "int")

    # -- pages --
    def kind_title(data: dict) -> str:
        soi = data.get("soi") or {}
        return {"snippet": f"Snippet {soi.get('snippet_id')}", "template": "Template search",
                "window": "Window search"}[data["kind"]]

    page_routes = [
        ("/", "catalogue.html", lambda d: "Catalogue", lambda r: pages.catalogue_page(viewer)),
        ("/cadence/{name}", "cadence.html", lambda d: f"Cadence {d['cadence']}",
         lambda r: pages.cadence_page(viewer, r.path_params["name"])),
        ("/snippet/{snippet_id}", "lookalikes.html", kind_title,
         lambda r: pages.snippet_page(viewer, int_param(r, "snippet_id"), r.query_params)),
        ("/template", "lookalikes.html", kind_title, lambda r: pages.template_page(viewer, r.query_params)),
        ("/window", "lookalikes.html", kind_title, lambda r: pages.window_page(viewer, r.query_params)),
        ("/rfi", "rfi.html", lambda d: "RFI classes", lambda r: pages.rfi_page(viewer)),
        ("/rfi/{class_id}", "rfi_class.html", lambda d: f"RFI class {d['class']['class_id']}",
         lambda r: pages.rfi_class_page(viewer, int_param(r, "class_id"))),
        ("/vetting", "vetting.html", lambda d: "Vetting results", lambda r: pages.vetting_page(viewer)),
    ]
    routes = []
    for path, template, title, build in page_routes:
        endpoint = page(template, title, build)
        routes.append(Route(path, endpoint))
        routes.append(Route("/api" + (path if path != "/" else ""), endpoint))

    # -- pictures --
    def snippet_array(snippet_id: int):
        array = overview.snippet_array(viewer.engine, snippet_id)
        if array is None:
            raise NotFound(f"no snippet {snippet_id} in the catalogue")
        return array

    def thumbnail(request: Request):
        snippet_id = int_param(request, "snippet_id")
        return ("thumb", snippet_id), lambda: pictures.snippet_thumbnail(snippet_array(snippet_id))

    def figure(request: Request):
        snippet_id = int_param(request, "snippet_id")

        def draw() -> bytes:
            meta = overview.snippet(viewer.engine, snippet_id)
            if meta is None:
                raise NotFound(f"no snippet {snippet_id} in the catalogue")
            return pictures.snippet_figure(snippet_array(snippet_id), meta["channel_width_hz"], meta["time_bin_s"])
        return ("figure", snippet_id), draw

    def occupancy(request: Request):
        occ = pages.census(viewer)["occupancy"]
        return ("occupancy", json.dumps(occ)), lambda: pictures.occupancy_figure(occ)

    def class_occupancy(request: Request):
        class_id = int_param(request, "class_id")

        def draw() -> bytes:
            try:
                cls = rfi.get_class(viewer.engine, class_id)
            except RficatError as exc:
                raise NotFound(str(exc)) from None
            return pictures.class_occupancy_figure(cls)
        return ("class", class_id), draw

    def track_picture(name: str, snippet_id: int):
        from rficat.catalogue import tracks

        def draw() -> bytes:
            try:
                overview.cadence_members(viewer.engine, name)
            except RficatError as exc:
                raise NotFound(str(exc)) from None
            if overview.snippet(viewer.engine, snippet_id) is None:
                raise NotFound(f"no snippet {snippet_id} in the catalogue")
            return pictures.cadence_figure(tracks.event_track(viewer.engine, name, snippet_id))
        return ("track", name, snippet_id), draw

    def track(request: Request):
        return track_picture(request.path_params["name"], int_param(request, "snippet_id"))

    def template_picture(request: Request):
        from rficat.catalogue import templates

        q = request.query_params
        shape = q.get("shape", templates.DEFAULTS["shape"])
        key = (shape, number("drift_hz_s", q.get("drift_hz_s", "0")), number("width_hz", q.get("width_hz", "30")),
               number("snr", q.get("snr", "30")))

        def draw() -> bytes:
            array = templates.template_snippet(*key)
            return pictures.snippet_figure(array, templates.CHANNEL_WIDTH_HZ, templates.TIME_BIN_S)
        return ("template", *key), draw

    def window_picture(request: Request):
        observation_id = number("soi_observation", request.query_params.get("soi_observation"), "int")
        f_mhz = number("soi_f_mhz", request.query_params.get("soi_f_mhz"))

        def draw() -> bytes:
            obs = overview.observation(viewer.engine, observation_id)
            if obs is None or not obs["reachable"]:
                raise NotFound(f"observation {observation_id}: " + ("not in the catalogue" if obs is None
                                                                      else "file not reachable"))
            soi = search.soi_from_file(obs["path"], f_mhz, obs["coarse_channel_width"])
            with viewer.engine.connect() as conn:
                step = conn.execute(sa.text(
                    "SELECT abs(foff_mhz) * 1e6, coalesce((detection->>'time_bin_s')::float8,"
                    " tsamp_s * n_integrations / 16) FROM observations WHERE id = :i"), {"i": observation_id}).one()
            return pictures.snippet_figure(soi.snippet, step[0], step[1])
        return ("window", observation_id, round(f_mhz, 9)), draw

    routes += [
        Route("/img/snippet/{snippet_id}.png", image(thumbnail)),
        Route("/img/snippet/{snippet_id}/figure.png", image(figure)),
        Route("/img/occupancy.png", image(occupancy, "no-cache")),
        Route("/img/rfi/{class_id}/occupancy.png", image(class_occupancy, "no-cache")),
        Route("/img/cadence/{name}/{snippet_id}.png", image(track, "private, max-age=300")),
        Route("/img/template.png", image(template_picture)),
        Route("/img/window.png", image(window_picture)),
    ]

    # -- the one write: a label, only with --allow-labels and the CSRF token --
    async def label(request: Request) -> Response:
        try:
            if not viewer.allow_labels:
                raise Forbidden("this viewer is read-only; start it with `rficat serve --allow-labels` to label classes")
            class_id = int_param(request, "class_id")
            body = await request.body()
            if len(body) > 20_000:
                raise BadParameter("form too large")
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
            origin = request.headers.get("origin")
            if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
                raise Forbidden(f"a form from {origin} may not write here")
            if not hmac.compare_digest(form.get("csrf", "").encode(), viewer.csrf_token.encode()):
                raise Forbidden("missing or wrong CSRF token: reload the class page and submit its form again")
            text, notes = form.get("label", "").strip(), form.get("notes", "").strip() or None
            if not text or len(text) > 200 or (notes and len(notes) > 2000):
                raise BadParameter("label: give 1 to 200 characters (notes at most 2000)")
            await run_in_threadpool(pages.rfi_class_page, viewer, class_id)  # 404 for an unknown class
            result = await run_in_threadpool(rfi.label_class, viewer.label_engine, class_id, text, notes)
            if wants_json(request):
                return JsonResponse(result)
            return RedirectResponse(f"/rfi/{class_id}", status_code=303)
        except Exception as exc:  # noqa: BLE001
            return error(request, exc)

    routes += [Route("/rfi/{class_id}/label", label, methods=["POST"]),
               Route("/api/rfi/{class_id}/label", label, methods=["POST"]),
               Mount("/static", app=StaticFiles(packages=[("rficat.web", "static")]), name="static")]

    async def http_error(request: Request, exc: Exception) -> Response:
        return error(request, exc)

    app = Starlette(routes=routes, middleware=[
        Middleware(TrustedHostMiddleware, allowed_hosts=trusted_hosts or LOOPBACK_HOSTS),
        Middleware(SecurityHeaders)], exception_handlers={HTTPException: http_error, Exception: http_error})
    app.state.viewer = viewer
    return app


class SecurityHeaders:
    """Adds a strict Content-Security-Policy (no scripts at all) and friends to every response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


# --- building and serving ----------------------------------------------------------------------

def build_viewer(url: str, *, allow_labels: bool = False, models_dir: Path | None = None) -> Viewer:
    """Connections for the viewer: read-only ones, and the label one only when allowed."""
    engine, role = read_only_engine(url)
    return Viewer(engine, role, models_dir, label_engine(url) if allow_labels else None,
                  secrets.token_urlsafe(32) if allow_labels else "")


def trusted_hosts_for(host: str) -> list[str]:
    """Loopback names for a loopback server; any name for one bound to other interfaces."""
    return LOOPBACK_HOSTS if host in LOOPBACK_HOSTS or host.startswith("127.") else ["*"]


def serve(viewer: Viewer, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the viewer until interrupted."""
    import uvicorn

    uvicorn.run(create_app(viewer, trusted_hosts_for(host)), host=host, port=port, log_level="warning",
                access_log=False)
