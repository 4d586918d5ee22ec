"""What each page shows, as JSON-ready dicts: the HTML page renders exactly this, and its JSON
twin (``?format=json`` or ``/api/...``) returns it.

Every number comes from the catalogue layer's functions (``rficat.catalogue.search``,
``cadence``, ``rfi``, ``templates``, ``overview``); the viewer has no query path of its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import numpy as np
from sqlalchemy.engine import Engine

from rficat.catalogue import cadence, overview, rfi, search, tracks
from rficat.errors import RficatError
from rficat.web.params import BadParameter, SearchParams, form_fields, number
from rficat.web.pictures import PngCache


class NotFound(LookupError):
    """An unknown id or name (the page answers 404)."""


EVENT_LOOKALIKES = 5
MAX_EVENTS = 20  # events shown with their figure and lookalikes; the table lists them all


@dataclass
class Viewer:
    """What every page needs: the read-only engine, and the writable one only with --allow-labels."""

    engine: Engine
    session_role: str
    models_dir: Path | None = None
    label_engine: Engine | None = None
    csrf_token: str = ""
    pictures: PngCache = field(default_factory=PngCache)
    census: tuple | None = None  # (catalogue version, overview.census), see census()

    @property
    def allow_labels(self) -> bool:
        return self.label_engine is not None


def plain(value):
    """numpy and NaN to plain JSON values."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _records(frame) -> list[dict]:
    return [plain(r) for r in frame.to_dict("records")]


def snippet_links(snippet_id: int, query: str = "") -> dict:
    suffix = f"?{query}" if query else ""
    return {"page": f"/snippet/{snippet_id}{suffix}", "image": f"/img/snippet/{snippet_id}.png",
            "search_for_this": f"/snippet/{snippet_id}{suffix}#lookalikes"}


def _matches(frame, params: SearchParams) -> list[dict]:
    query = params.query_string()
    rows = []
    for rank, row in enumerate(_records(frame), start=1):
        row["file"] = Path(row.pop("path")).name
        row["n_grouped"] = None if row["n_grouped"] is None else int(row["n_grouped"])
        rows.append({"rank": rank, **row, **snippet_links(row["snippet_id"], query)})
    return rows


def _search_block(params: SearchParams) -> dict:
    return {**params.to_dict(), "form": form_fields(params)}


# --- 1. catalogue ------------------------------------------------------------------------------

def census(viewer: Viewer) -> dict:
    """``overview.census`` (one pass over every snippet: seconds at 10^6), kept until the catalogue changes."""
    version = overview.version(viewer.engine)
    cached = viewer.census
    if cached is None or cached[0] != version:
        cached = viewer.census = (version, overview.census(viewer.engine))
    return cached[1]


def catalogue_page(viewer: Viewer) -> dict:
    engine = viewer.engine
    counted = census(viewer)
    counts = overview.counts(engine)
    counts = {"observations": counts["observations"], "cadences": counts["cadences"],
              "signal_snippets": counted["signal_snippets"], "noise_snippets": counted["noise_snippets"],
              **{k: v for k, v in counts.items() if k not in ("observations", "cadences", "snippets")}}
    observations = [{**o, **counted["by_observation"].get(o["observation_id"], {"n_signal": 0, "n_noise": 0})}
                    for o in overview.observations(engine)]
    return {"counts": counts, "cadences": [
        {**c, "page": f"/cadence/{quote(c['name'], safe='')}"} for c in overview.cadences(engine)],
        "observations": observations, "occupancy": counted["occupancy"],
        "occupancy_image": "/img/occupancy.png", "session_role": viewer.session_role}


# --- 2. cadence --------------------------------------------------------------------------------

def cadence_page(viewer: Viewer, name: str) -> dict:
    engine = viewer.engine
    try:
        scans = overview.cadence_members(engine, name)
    except RficatError as exc:
        raise NotFound(str(exc)) from None
    events = _records(cadence.search(engine, name))
    quoted = quote(name, safe="")
    for event in events:
        event["verdict"] = "likely RFI" if event["likely_rfi"] else "candidate"
        event["page"] = f"/snippet/{event['snippet_id']}"
        event["on_snippets"] = [{"snippet_id": i, **snippet_links(i)} for i in event["on_snippet_ids"]]
        event["rfi_class_page"] = None if event["rfi_class_id"] is None else f"/rfi/{event['rfi_class_id']}"
    for event in events[:MAX_EVENTS]:
        event["figure"] = f"/img/cadence/{quoted}/{event['snippet_id']}.png"
        event["track"] = _track_windows(tracks.event_track(engine, name, event["snippet_id"], read=False))
        event["lookalikes"] = _matches(search.lookalikes(engine, event["snippet_id"], EVENT_LOOKALIKES),
                                       SearchParams())
    return {"cadence": name, "pattern": _pattern(engine, name), "scans": scans, "n_events": len(events),
            "events_shown": min(len(events), MAX_EVENTS), "events": events}


def _pattern(engine: Engine, name: str) -> str:
    return next((c["pattern"] for c in overview.cadences(engine) if c["name"] == name), "")


def _track_windows(track: tracks.Track) -> list[dict]:
    """Per scan: where the event's drift line (:func:`tracks.event_track`, the line the cadence figure
    draws, through the event's own snippet mid-scan) is at the scan's start, and a link to search that window."""
    rows = []
    for scan in track.scans:
        f_mhz = track.f_at(scan.t_start_s)
        reachable = scan.status == "ok"
        rows.append({"position": scan.position, "role": scan.role, "observation_id": scan.observation_id,
                     "f_expected_mhz": f_mhz, "reachable": reachable,
                     "search_for_this": f"/window?{urlencode({'soi_observation': scan.observation_id, 'soi_f_mhz': f'{f_mhz:.9f}'})}"
                     if reachable else None})
    return rows


# --- 3. snippet (and every lookalike page) -------------------------------------------------------

def snippet_page(viewer: Viewer, snippet_id: int, query) -> dict:
    params = SearchParams.from_query(query)
    meta = overview.snippet(viewer.engine, snippet_id)
    if meta is None:
        raise NotFound(f"no snippet {snippet_id} in the catalogue")
    meta["file"] = Path(meta["path"]).name
    meta["figure"] = f"/img/snippet/{snippet_id}/figure.png"
    meta["cadence_page"] = None if meta["cadence"] is None else f"/cadence/{quote(meta['cadence'], safe='')}"
    meta["rfi_class_page"] = None if meta["rfi_class_id"] is None else f"/rfi/{meta['rfi_class_id']}"
    frame = search.lookalikes(viewer.engine, snippet_id, params.k, **params.options())
    return {"kind": "snippet", "soi": plain(dict(meta)), "search": _search_block(params),
            "matches": _matches(frame, params), "action": f"/snippet/{snippet_id}"}


def template_page(viewer: Viewer, query) -> dict:
    from rficat.catalogue import templates

    form = {"shape": query.get("shape") or templates.DEFAULTS["shape"],
            "drift": query.get("drift", str(templates.DEFAULTS["drift_hz_s"])),
            "width": query.get("width", str(templates.DEFAULTS["width_hz"])),
            "snr": query.get("snr", str(templates.DEFAULTS["snr"])), "f_center": query.get("f_center", "")}
    params = SearchParams.from_query(query)
    page = {"kind": "template", "template_form": form, "shapes": list(templates.SHAPES),
            "search": _search_block(params), "soi": None, "matches": [], "action": "/template", "saved": False}
    if not any(key in query for key in ("shape", "drift", "width", "snr")):
        return page  # the form alone
    if form["shape"] not in templates.SHAPES:
        raise BadParameter(f"shape: {form['shape']!r} is not one of {', '.join(templates.SHAPES)}")
    template = {"shape": form["shape"], "drift_hz_s": number("drift", form["drift"]),
                "width_hz": number("width", form["width"]), "snr": number("snr", form["snr"]),
                "f_center_mhz": number("f_center", form["f_center"], required=False)}
    if template["width_hz"] <= 0 or template["snr"] <= 0:
        raise BadParameter("width and snr must be positive")
    template, soi, frame, model_id = templates.search_template(viewer.engine, template, params.k,
                                                               models_dir=viewer.models_dir, **params.options())
    image_query = urlencode({k: v for k, v in template.items() if v is not None})
    page["soi"] = {"source": soi.source, "template": template, "model_id": model_id,
                   "figure": f"/img/template.png?{image_query}"}
    page["matches"] = _matches(frame, params)
    return plain(page)


def window_page(viewer: Viewer, query) -> dict:
    """Lookalikes of the window at a frequency of a catalogued observation's file ("search for this"
    on a cadence figure): the file is named by its observation id, never by a path from the URL."""
    observation_id = number("soi_observation", query.get("soi_observation"), "int")
    f_mhz = number("soi_f_mhz", query.get("soi_f_mhz"))
    params = SearchParams.from_query(query)
    obs = overview.observation(viewer.engine, observation_id)
    if obs is None:
        raise NotFound(f"no observation {observation_id} in the catalogue")
    if not obs["reachable"]:
        raise NotFound(f"observation {observation_id}: file not reachable ({obs['path']})")
    soi = search.soi_from_file(obs["path"], f_mhz, obs["coarse_channel_width"])
    frame = search.query(viewer.engine, soi, params.k, models_dir=viewer.models_dir, **params.options())
    image_query = urlencode({"soi_observation": observation_id, "soi_f_mhz": f"{f_mhz:.9f}"})
    return plain({"kind": "window", "soi": {"source": soi.source, "observation_id": observation_id,
                                             "f_mhz": f_mhz, "f_center_mhz": soi.f_center_mhz,
                                             "file": Path(obs["path"]).name,
                                             "figure": f"/img/window.png?{image_query}"},
                  "search": _search_block(params), "matches": _matches(frame, params),
                  "action": "/window", "hidden": {"soi_observation": observation_id, "soi_f_mhz": f_mhz}})


# --- 4. RFI classes ----------------------------------------------------------------------------

EXEMPLARS_SHOWN = 6


def rfi_page(viewer: Viewer) -> dict:
    engine = viewer.engine
    build_id = overview.counts(engine)["rfi_build_id"]
    if build_id is None:
        return {"build_id": None, "stale": [], "classes": [],
                "note": "no RFI classes yet: run `rficat rfi build` first"}
    classes = _records(rfi.list_classes(engine))
    for cls in classes:
        cls["page"] = f"/rfi/{cls['class_id']}"
        cls["exemplars"] = [snippet_links(i) | {"snippet_id": i} for i in cls["exemplar_ids"][:EXEMPLARS_SHOWN]]
    return {"build_id": build_id, "stale": rfi.staleness(engine), "classes": classes, "note": None}


def rfi_class_page(viewer: Viewer, class_id: int) -> dict:
    try:
        cls = rfi.get_class(viewer.engine, class_id)
    except RficatError as exc:
        raise NotFound(str(exc)) from None
    cls = {k: v for k, v in cls.items() if k not in ("centroid",)}
    cls["class_id"] = cls.pop("id")
    exemplars = [snippet_links(i) | {"snippet_id": i} for i in cls["exemplar_ids"]]
    return plain({"class": cls, "exemplars": exemplars, "occupancy_image": f"/img/rfi/{class_id}/occupancy.png",
                  "members_search": (f"/snippet/{cls['exemplar_ids'][0]}?{urlencode({'rfi_class': class_id, 'k': 20})}"
                                     if cls["exemplar_ids"] else None),
                  "can_label": viewer.allow_labels and bool(cls["is_current"]),
                  "label_action": f"/rfi/{class_id}/label"})


# --- 6. vetting ----------------------------------------------------------------------------------

def vetting_page(viewer: Viewer) -> dict:
    """Hits of other pipelines kept by ``rficat vet --store``, with the catalogue's verdict."""
    from rficat.catalogue import vet

    results = [row | snippet_links(row["snippet_id"]) for row in vet.stored_hits(viewer.engine)]
    return plain({"results": results, "note": "Hits of other pipelines (turboSETI, hyperseti, a CSV) kept by "
                  "`rficat vet --store`, newest first, each judged by the catalogue's one verdict rule."})
