"""Lookalike search from Python: the SQL functions of migration 0004, as pandas DataFrames.

Everything here calls the documented SQL (``rficat_lookalikes``, ``rficat_lookalikes_of_vector``)
with bound parameters, so a notebook doing the same in SQL gets the same rows. A signal of
interest (SOI) can come from the catalogue (a snippet id), from any filterbank file (the window
at a frequency, cut and normalised exactly as ingest does), or from a synthetic template.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rficat.catalogue import models
from rficat.catalogue.filters import Filters, check_ranges, sql_arguments
from rficat.errors import RficatError
from rficat.io import FilterbankReader
from rficat.science import detect, embedding, snippets
from rficat.science.model import Encoder
from rficat.store import db

RESULT_COLUMNS = ["snippet_id", "observation_id", "path", "f_start_mhz", "f_stop_mhz", "f_center_mhz",
                  "snr", "drift_rate_hz_s", "similarity", "n_grouped"]


@dataclass
class Soi:
    """A signal of interest: a normalised snippet, where it came from, and its vectors."""

    snippet: np.ndarray  # (16, 256), as stored (quantised)
    f_center_mhz: float | None
    source: str
    latent: np.ndarray | None = None
    freq_vector: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


_CALL = ("{fn}({first}, p_k => :p_k, p_use_frequency => :p_use_frequency, p_model_id => :p_model_id,"
         " p_exact => :p_exact, p_group_mhz => :p_group_mhz, " + sql_arguments() + ")")


def _run(engine: Engine, fn: str, first: str, params: dict) -> pd.DataFrame:
    check_search(engine, params)
    return db.query_frame(engine, f"SELECT * FROM {_CALL.format(fn=fn, first=first)}", params, RESULT_COLUMNS)


def check_search(engine: Engine, params: dict) -> None:
    """Refuse a search (its ``p_`` parameters) that would quietly match nothing: an inverted
    range, a negative ``group_mhz``, a cadence the catalogue does not have."""
    check_ranges({name.removeprefix("p_"): value for name, value in params.items()})
    group = params.get("p_group_mhz")
    if group is not None and not group >= 0:
        raise RficatError(f"group_mhz must be 0 or more, got {group:g}")
    cadence = params.get("p_cadence")
    if cadence is not None:
        with engine.connect() as conn:
            known = list(conn.execute(sa.text("SELECT name FROM cadences ORDER BY name")).scalars())
        if cadence not in known:
            raise RficatError(f"no cadence named {cadence!r} in the catalogue"
                              + (f" (its cadences: {', '.join(known)})" if known else " (it has none)"))


def lookalikes(engine: Engine, snippet_id: int, k: int = 10, *, use_frequency: bool = True,
               model_id: int | None = None, exact: bool = False, group_mhz: float | None = None,
               filters: Filters | None = None) -> pd.DataFrame:
    """The k stored snippets most like snippet ``snippet_id`` (SQL: ``rficat_lookalikes``)."""
    params = {"snippet_id": int(snippet_id), "p_k": k, "p_use_frequency": use_frequency, "p_model_id": model_id,
              "p_exact": exact, "p_group_mhz": group_mhz, **(filters or Filters()).params()}
    return _run(engine, "rficat_lookalikes", "CAST(:snippet_id AS bigint)", params)


def lookalikes_of_vector(engine: Engine, vector: np.ndarray, k: int = 10, *, use_frequency: bool = True,
                         model_id: int | None = None, exact: bool = False, group_mhz: float | None = None,
                         filters: Filters | None = None) -> pd.DataFrame:
    """The k stored snippets nearest a vector of the model (SQL: ``rficat_lookalikes_of_vector``)."""
    params = {"vector": np.asarray(vector, dtype=np.float32).ravel(), "p_k": k, "p_use_frequency": use_frequency, "p_model_id": model_id,
              "p_exact": exact, "p_group_mhz": group_mhz, **(filters or Filters()).params()}
    return _run(engine, "rficat_lookalikes_of_vector", "CAST(:vector AS vector)", params)


def with_vectors(soi: Soi, encoder: Encoder,
                 freq_embedding: embedding.FrequencyEmbedding = embedding.DEFAULT) -> Soi:
    soi.latent = encoder.encode(soi.snippet[None])[0]
    if soi.f_center_mhz is not None:
        soi.freq_vector = freq_embedding.apply(soi.latent[None], [soi.f_center_mhz])[0]
    return soi


# --- signals of interest -------------------------------------------------------------------------

def soi_from_catalogue(engine: Engine, snippet_id: int) -> Soi:
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT a.data, s.f_center_mhz, o.path FROM snippets s JOIN observations o"
                                   " ON o.id = s.observation_id JOIN snippet_arrays a ON a.snippet_id = s.id"
                                   " WHERE s.id = :i"), {"i": int(snippet_id)}).first()
    if row is None:
        raise RficatError(f"no snippet {snippet_id} in the catalogue")
    return Soi(snippets.from_bytes(row.data), row.f_center_mhz, f"snippet {snippet_id} ({os.path.basename(row.path)})")


def soi_from_file(path: str | os.PathLike, f_mhz: float, coarse_channel_width: int | None = None) -> Soi:
    """The 256-channel window centred on ``f_mhz`` of any .h5/.fil file, cleaned and normalised as at ingest."""
    with FilterbankReader(path, coarse_channel_width) as reader:
        header = reader.header
        if not header.f_min_mhz <= f_mhz <= header.f_max_mhz:
            raise RficatError(f"{path}: {f_mhz} MHz is outside the file's band "
                              f"{header.f_min_mhz:.6f}-{header.f_max_mhz:.6f} MHz")
        width = header.coarse_channel_width
        channel = int(round(header.channel_of(f_mhz)))
        coarse = min(channel // width, header.n_coarse_channels - 1)
        block = detect.clean_block(reader.read_channels(coarse * width, (coarse + 1) * width).data,
                                   detect.bandpass_pieces(header))
    start = min(max(channel - coarse * width - detect.WINDOW // 2, 0), width - detect.WINDOW)
    # as detect_block hands snippets over: data / bandpass (the cleaned block is that minus one)
    window = snippets.quantise(snippets.normalise(block[:, start:start + detect.WINDOW] + 1.0))
    centre = float(header.frequency_mhz(coarse * width + start + (detect.WINDOW - 1) / 2))
    return Soi(snippets.dequantise(window), centre, f"{os.path.basename(str(path))} @ {f_mhz} MHz")


def query(engine: Engine, soi: Soi, k: int = 10, *, use_frequency: bool = True, model_id: int | None = None,
          exact: bool = False, group_mhz: float | None = None, filters: Filters | None = None,
          models_dir: Path | None = None) -> pd.DataFrame:
    """Encode a SOI with the catalogue's model (weights looked up in ``models_dir`` and the shipped
    model) and its recorded frequency embedding, and search; frequency is used only when the SOI has one."""
    model_id, encoder = models.encoder_for(engine, models_dir, model_id)
    with_vectors(soi, encoder, models.frequency_embedding(engine, model_id))
    use_frequency = use_frequency and soi.freq_vector is not None
    vector = soi.freq_vector if use_frequency else soi.latent
    return lookalikes_of_vector(engine, vector, k, use_frequency=use_frequency, model_id=model_id, exact=exact,
                                group_mhz=group_mhz, filters=filters)


def match_snippets(engine: Engine, ids) -> np.ndarray:
    """Stored arrays of the given snippet ids, in that order (for pictures)."""
    ids = [int(i) for i in ids]
    if not ids:
        return np.empty((0, 16, 256), np.float32)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT snippet_id, data FROM snippet_arrays WHERE snippet_id = ANY(:ids)"),
                                 {"ids": ids}).all())
    return np.stack([snippets.from_bytes(rows[i]) for i in ids])
