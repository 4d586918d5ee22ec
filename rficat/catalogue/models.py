"""Which encoder the catalogue's vectors come from, and which one new work must use.

Searches read ``rficat_current_model()``; ingest, templates and vetting must encode with that
same model, or what they store or ask is invisible to the searches (a file ingested with the
shipped default after another model became current appeared in no search at all). So every
encoding entry point asks :func:`catalogue_encoder`, which follows the catalogue, and the
frequency embedding used for a model's vectors is the one recorded with the model.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rficat.errors import RficatError
from rficat.science import embedding
from rficat.science.model import Encoder, model_versions, resolve_model
from rficat.store import db

log = logging.getLogger(__name__)


def current_model_id(engine: Engine) -> int | None:
    """The model searches use by default; None for a catalogue with no model yet."""
    with engine.connect() as conn:
        model_id = conn.execute(sa.text("SELECT rficat_current_model()")).scalar()
    return None if model_id is None else int(model_id)


def require_current_model(engine: Engine) -> int:
    model_id = current_model_id(engine)
    if model_id is None:
        raise RficatError("the catalogue is empty: no model has vectors yet (run rficat ingest or rficat demo)")
    return model_id


def frequency_embedding(engine: Engine, model_id: int) -> embedding.FrequencyEmbedding:
    """The frequency embedding recorded with a model's vectors (never a module default)."""
    with engine.connect() as conn:
        params = conn.execute(sa.text("SELECT frequency_embedding FROM models WHERE id = :m"),
                              {"m": model_id}).scalar()
    return embedding.FrequencyEmbedding(**params) if params else embedding.DEFAULT


def register(engine: Engine, encoder: Encoder,
             freq_embedding: embedding.FrequencyEmbedding = embedding.DEFAULT) -> int:
    """Record an encoder (and the frequency embedding its vectors get) in ``models``."""
    return db.register_model(engine, encoder.metadata, json.dumps(asdict(freq_embedding)))


def encoder_for(engine: Engine, models_dir: Path | None, model_id: int | None = None) -> tuple[int, Encoder]:
    """The encoder whose weights made model ``model_id``'s vectors (default: the current model).

    Looks at the shipped model and every saved version of the model's name under
    ``models_dir``; fails with one line naming the model when its weights are not here.
    """
    model_id = require_current_model(engine) if model_id is None else model_id
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT name, version, fingerprint FROM models WHERE id = :m"),
                           {"m": model_id}).first()
    if row is None:
        raise RficatError(f"no model with id {model_id}")
    for candidate in [None, *(model_versions(models_dir, row.name) if models_dir else [])]:
        encoder = resolve_model(None if candidate is None else str(candidate))  # cached after the first load
        if encoder.metadata.fingerprint == row.fingerprint:
            return model_id, encoder
    raise RficatError(f"the weights of model {row.name} v{row.version} (id {model_id}, {row.fingerprint[:19]}...) "
                      f"are not on this machine; copy its directory to {models_dir / row.name}")


def catalogue_encoder(engine: Engine, models_dir: Path | None, model: str | Encoder | None = None) -> tuple[int, Encoder]:
    """The encoder new snippets are encoded with, registered: ``model`` when given (with a
    warning when it is not the current model), else the catalogue's current model, else (an
    empty catalogue) the shipped default, which then becomes current."""
    if model is None:
        current = current_model_id(engine)
        if current is not None:
            return encoder_for(engine, models_dir, current)
    encoder = resolve_model(model, models_dir)
    model_id = register(engine, encoder)
    current = current_model_id(engine)
    if current != model_id:
        log.warning("model %s v%d (id %d) is not the catalogue's current model (id %s): searches do not see its "
                    "vectors unless given --model-id %d (or after `python -m rficat.flows.reencode %s "
                    "--make-current`)", encoder.metadata.name, encoder.metadata.version, model_id, current,
                    model_id, encoder.metadata.name)
    return model_id, encoder


def observations_missing_model(engine: Engine, model_id: int) -> list[int]:
    """Complete observations with at least one snippet that has no vector of this model."""
    with engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT DISTINCT s.observation_id FROM snippets s JOIN observations o ON o.id = s.observation_id"
            " WHERE o.status = 'complete' AND NOT EXISTS (SELECT 1 FROM embeddings e"
            " WHERE e.snippet_id = s.id AND e.model_id = :m) ORDER BY 1"), {"m": model_id}).scalars())


def make_model_current(engine: Engine, model_id: int) -> None:
    """Make searches, templates, ingest and RFI builds use this model by default.

    Refused while any observation lacks its vectors: a half-encoded catalogue would silently
    search only the observations already done.
    """
    missing = observations_missing_model(engine, model_id)
    if missing:
        raise RficatError(f"model {model_id} has no vectors yet for {len(missing)} observations "
                          f"(first: {missing[0]}); re-encode them before making it current")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE models SET is_current = false WHERE is_current AND id <> :m"), {"m": model_id})
        conn.execute(sa.text("UPDATE models SET is_current = true WHERE id = :m"), {"m": model_id})
