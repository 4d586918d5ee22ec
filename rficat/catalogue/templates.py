"""Template search: a synthetic signal described by its physics, rendered, encoded and searched.

One sequence for the CLI (``rficat template``) and the batch flow (``template-search``): render
with setigen (``rficat.synthetic.corpus``), search with the catalogue's model, keep the search
and its matches in ``template_searches`` / ``template_matches``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rficat.catalogue import models
from rficat.catalogue.search import Filters, Soi, query
from rficat.errors import RficatError
from rficat.science import snippets
from rficat.synthetic import corpus

DEFAULTS = {"shape": "drifting", "drift_hz_s": 0.0, "width_hz": 30.0, "snr": 30.0, "f_center_mhz": None}
"""A template's keys and their defaults (CLI flags and flow parameters use these)."""
SHAPES = corpus.FAMILIES
# the grid templates are rendered on (GBT high-resolution): what their pictures' axes mean
CHANNEL_WIDTH_HZ = corpus.DF_HZ
TIME_BIN_S = corpus.GBT_TSAMP_S


def template_snippet(shape: str = "drifting", drift_hz_s: float = 0.0, width_hz: float = 30.0, snr: float = 30.0,
                     seed: int = 0, descending: bool = True) -> np.ndarray:
    """A setigen-rendered template snippet, centred in the window (see rficat.synthetic.corpus for shapes).

    ``descending``: channel frequency falls with channel index (foff < 0, as in GBT and most
    filterbank files), so a positive drift runs towards lower channels, as in stored snippets.
    """
    if shape not in corpus.FAMILIES:
        raise RficatError(f"unknown template shape {shape!r}; choose from {', '.join(corpus.FAMILIES)}")
    channel_drift_hz_s = -drift_hz_s if descending else drift_hz_s
    span_channels = channel_drift_hz_s * corpus.GBT_TSAMP_S * 16 / corpus.DF_HZ
    if abs(span_channels) > 240:
        raise RficatError(f"a drift of {drift_hz_s} Hz/s leaves the 256-channel window within one snippet")
    emitter = corpus.Emitter(shape, channel=128 - span_channels / 2, snr=snr, drift_hz_s=channel_drift_hz_s,
                             width_hz=width_hz)
    return snippets.dequantise(snippets.quantise(corpus.render([emitter], seed=seed)[0]))


def search_template(engine: Engine, template: dict, k: int = 10, *, model_id: int | None = None,
                    use_frequency: bool = True, exact: bool = False, group_mhz: float | None = None, filters: Filters | None = None,
                    models_dir: Path | None = None) -> tuple[dict, Soi, pd.DataFrame, int]:
    """Render and search one template without keeping it (the web viewer's read-only search);
    returns (the template with defaults filled in, the SOI, matches, the model searched)."""
    unknown = set(template) - set(DEFAULTS)
    if unknown:
        raise RficatError(f"unknown template keys {sorted(unknown)}; use {', '.join(DEFAULTS)}")
    template = {**DEFAULTS, **template}
    snippet = template_snippet(template["shape"], template["drift_hz_s"], template["width_hz"], template["snr"])
    described = ", ".join(f"{key}={value}" for key, value in template.items() if value is not None)
    soi = Soi(snippet, template["f_center_mhz"], f"template {described}")
    model_id = models.require_current_model(engine) if model_id is None else model_id
    results = query(engine, soi, k, use_frequency=use_frequency, model_id=model_id, exact=exact,
                    group_mhz=group_mhz, filters=filters, models_dir=models_dir)
    return template, soi, results, model_id


def run_template(engine: Engine, template: dict, k: int = 10, *, model_id: int | None = None,
                 exact: bool = False, group_mhz: float | None = None, filters: Filters | None = None,
                 models_dir: Path | None = None, job: str | None = None) -> tuple[int, Soi, pd.DataFrame]:
    """Render, search and keep one template; returns (template_searches id, the SOI, matches)."""
    template, soi, results, model_id = search_template(engine, template, k, model_id=model_id, exact=exact,
                                                       group_mhz=group_mhz, filters=filters, models_dir=models_dir)
    return save_template_search(engine, template, soi, results, model_id, job), soi, results


def save_template_search(engine: Engine, template: dict, soi: Soi, results: pd.DataFrame,
                         model_id: int | None = None, job: str | None = None) -> int:
    """Keep a template search and its matches (tables template_searches, template_matches)."""

    model_id = models.require_current_model(engine) if model_id is None else model_id
    vector = soi.freq_vector if soi.freq_vector is not None else soi.latent
    with engine.begin() as conn:
        search_id = conn.execute(sa.text(
            "INSERT INTO template_searches (job, template, model_id, vector)"
            " VALUES (:job, CAST(:template AS jsonb), :m, :v) RETURNING id"),
            {"job": job, "template": json.dumps(template), "m": model_id,
             "v": np.asarray(vector, dtype=np.float32)}).scalar_one()
        if len(results):
            conn.execute(sa.text("INSERT INTO template_matches (search_id, rank, snippet_id, similarity)"
                                 " VALUES (:s, :r, :i, :sim)"),
                         [{"s": search_id, "r": rank, "i": int(row.snippet_id), "sim": float(row.similarity)}
                          for rank, row in enumerate(results.itertuples(), start=1)])
    return int(search_id)
