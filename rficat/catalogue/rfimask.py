"""Known-RFI masks: the frequency ranges known RFI occupies, out; a site's own RFI bands, in.

``export`` turns the current RFI build's known-RFI snippets (SQL view ``snippet_rfi``) into
frequency ranges, per class: the frequency extents of its snippets' windows, merged where they
overlap or lie within ``gap_mhz``, each with how often it is occupied (snippets, observations, and
the share of the catalogue's observations covering that range that have it). ``import_bands``
keeps a site's own list of RFI bands in ``rfi_mask_bands`` (importing a file again replaces the
bands it brought); vetting shows the bands a hit falls in, and the search filter ``not_in_mask``
(``--not-in-mask`` of ``rficat query`` / ``rficat template``, the viewer's filter form; SQL
``p_not_in_mask``) leaves out snippets inside them.

Files are CSV or YAML, chosen by suffix; an exported mask can be imported as it is.
"""

from __future__ import annotations

import csv
import math
import os
from collections import defaultdict
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rficat.errors import RficatError

RANGE_COLUMNS = ["class_id", "label", "f_start_mhz", "f_stop_mhz", "n_snippets", "n_observations",
                 "n_observations_covering", "occupancy"]
BAND_COLUMNS = ["id", "f_start_mhz", "f_stop_mhz", "label", "notes", "source", "imported_at"]
YAML_SUFFIXES = (".yaml", ".yml")
START_KEYS = ("f_start_mhz", "f_min_mhz", "start_mhz", "f_lo_mhz")
STOP_KEYS = ("f_stop_mhz", "f_max_mhz", "stop_mhz", "f_hi_mhz")


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in YAML_SUFFIXES:
        return "yaml"
    raise RficatError(f"{path}: a mask is a .csv or .yaml file (by suffix), not {suffix or 'no suffix'}")


# --- export --------------------------------------------------------------------------------------

def known_rfi_ranges(engine: Engine, gap_mhz: float = 0.0) -> pd.DataFrame:
    """The frequency ranges each known-RFI class of the current build occupies (see the module docstring)."""
    with engine.connect() as conn:
        if conn.execute(sa.text("SELECT 1 FROM rfi_builds WHERE is_current")).first() is None:
            raise RficatError("no RFI classes yet: run `rficat rfi build` first")
        members = conn.execute(sa.text(
            "SELECT r.class_id, r.label, least(s.f_start_mhz, s.f_stop_mhz) AS lo,"
            " greatest(s.f_start_mhz, s.f_stop_mhz) AS hi, s.observation_id"
            " FROM snippet_rfi r JOIN snippets s ON s.id = r.snippet_id ORDER BY r.class_id, lo")).all()
        bands = conn.execute(sa.text("SELECT f_min_mhz, f_max_mhz FROM observations WHERE status = 'complete'")).all()
    by_class: dict = defaultdict(list)
    for row in members:
        by_class[(row.class_id, row.label)].append(row)
    ranges = []
    for (class_id, label), rows in by_class.items():
        current = None
        for row in rows:  # sorted by lo
            if current is not None and row.lo <= current["f_stop_mhz"] + gap_mhz:
                current["f_stop_mhz"] = max(current["f_stop_mhz"], row.hi)
                current["snippets"] += 1
                current["observations"].add(row.observation_id)
                continue
            current = {"class_id": class_id, "label": label, "f_start_mhz": row.lo, "f_stop_mhz": row.hi,
                       "snippets": 1, "observations": {row.observation_id}}
            ranges.append(current)
    out = []
    for r in ranges:
        centre = (r["f_start_mhz"] + r["f_stop_mhz"]) / 2
        covering = sum(lo <= centre <= hi for lo, hi in bands)
        out.append({"class_id": r["class_id"], "label": r["label"], "f_start_mhz": r["f_start_mhz"],
                    "f_stop_mhz": r["f_stop_mhz"], "n_snippets": r["snippets"],
                    "n_observations": len(r["observations"]), "n_observations_covering": covering,
                    "occupancy": round(len(r["observations"]) / covering, 4) if covering else None})
    frame = pd.DataFrame(out, columns=RANGE_COLUMNS)
    return frame.sort_values(["f_start_mhz", "class_id"], ignore_index=True)


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v.item() if hasattr(v, "item") else v)
             for k, v in row.items()} for row in frame.to_dict("records")]


def export(engine: Engine, path: str | os.PathLike, gap_mhz: float = 0.0) -> dict:
    """Write the known-RFI ranges to a CSV or YAML file; returns what was written."""
    path = Path(path)
    kind = _format(path)
    frame = known_rfi_ranges(engine, gap_mhz)
    with engine.connect() as conn:
        build_id = conn.execute(sa.text("SELECT id FROM rfi_builds WHERE is_current")).scalar()
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        import yaml

        path.write_text(yaml.safe_dump({"generated_by": "rficat rfi mask", "rfi_build": build_id,
                                        "bands": _records(frame)}, sort_keys=False))
    return {"path": str(path), "format": kind, "rfi_build": build_id, "ranges": len(frame),
            "classes": int(frame["class_id"].nunique()) if len(frame) else 0}


# --- a site's own bands --------------------------------------------------------------------------

def _read_bands(path: Path) -> list[dict]:
    if _format(path) == "csv":
        with path.open(newline="") as handle:
            rows = [{(k or "").strip(): v for k, v in row.items()} for row in csv.DictReader(
                line for line in handle if not line.lstrip().startswith("#"))]
    else:
        import yaml

        try:
            loaded = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise RficatError(f"{path}: not YAML ({str(exc).splitlines()[0]})") from None
        rows = loaded.get("bands") if isinstance(loaded, dict) else loaded
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise RficatError(f"{path}: expected a list of bands (or a mapping with `bands:`), each with "
                              "f_start_mhz and f_stop_mhz")
    bands = []
    for number, row in enumerate(rows, start=1):
        lower = {str(k).lower(): v for k, v in row.items()}
        try:
            start = float(next(lower[k] for k in START_KEYS if lower.get(k) not in (None, "")))
            stop = float(next(lower[k] for k in STOP_KEYS if lower.get(k) not in (None, "")))
        except StopIteration:
            raise RficatError(f"{path} band {number}: needs f_start_mhz and f_stop_mhz") from None
        except (TypeError, ValueError):
            raise RficatError(f"{path} band {number}: frequencies must be numbers in MHz") from None
        if not (math.isfinite(start) and math.isfinite(stop)) or start > stop:
            raise RficatError(f"{path} band {number}: f_start_mhz {start} must be finite and at most f_stop_mhz {stop}")
        label = lower.get("label") or None
        notes = lower.get("notes") or None
        bands.append({"f_start_mhz": start, "f_stop_mhz": stop, "label": None if label is None else str(label),
                      "notes": None if notes is None else str(notes)})
    return bands


def import_bands(engine: Engine, path: str | os.PathLike) -> dict:
    """Keep a site's RFI bands from a CSV / YAML file (replacing what that file brought before)."""
    path = Path(path)
    if not path.is_file():
        raise RficatError(f"{path}: no such file")
    bands = _read_bands(path)
    with engine.begin() as conn:
        replaced = conn.execute(sa.text("DELETE FROM rfi_mask_bands WHERE source = :s"), {"s": path.name}).rowcount
        if bands:
            conn.execute(sa.text("INSERT INTO rfi_mask_bands (f_start_mhz, f_stop_mhz, label, notes, source)"
                                 " VALUES (:f_start_mhz, :f_stop_mhz, :label, :notes, :source)"),
                         [{**b, "source": path.name} for b in bands])
    return {"source": path.name, "imported": len(bands), "replaced": replaced}


def list_bands(engine: Engine) -> pd.DataFrame:
    from rficat.store.db import query_frame

    return query_frame(engine, f"SELECT {', '.join(BAND_COLUMNS)} FROM rfi_mask_bands ORDER BY f_start_mhz, id",
                       {}, BAND_COLUMNS)


def labelled_bands(engine: Engine) -> list[tuple[float, float, str]]:
    """The site's bands as (f_start_mhz, f_stop_mhz, label or the file it came from)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT f_start_mhz, f_stop_mhz, coalesce(label, source) FROM rfi_mask_bands"
                                    " ORDER BY f_start_mhz")).all()
    return [(float(a), float(b), str(label)) for a, b, label in rows]
