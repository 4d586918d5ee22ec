"""Which encoder the catalogue's vectors come from, and which one new work must use.

Searches read ``rficat_current_model()``; ingest, templates and vetting must encode with that
same model, or what they store or ask is invisible to the searches (a file ingested with the
shipped default after another model became current appeared in no search at all). So every
encoding entry point asks :func:`catalogue_encoder`, which follows the catalogue, and the
frequency embedding used for a model's vectors is the one recorded with the model.

A registered model's weights are kept in the catalogue too (``model_weights``, ~0.7 MB): a
machine that lacks the model's directory, such as a Dask worker elsewhere, reads them from
there once (:func:`encoder_for`), so ingest fans out without copying model files around.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import asdict
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rficat.errors import RficatError
from rficat.science import embedding
from rficat.science.model import (
    ENCODER_FILE,
    METADATA_FILE,
    Encoder,
    model_versions,
    resolve_model,
)
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
    """Record an encoder (and the frequency embedding its vectors get) in ``models``, with its
    weights when it was loaded from a directory (see :func:`store_weights`)."""
    model_id = db.register_model(engine, encoder.metadata, json.dumps(asdict(freq_embedding)))
    if encoder.path is not None:
        store_weights(engine, model_id, encoder.path)
    return model_id


# --- weights in the catalogue, for workers on other machines ------------------------------------

CACHE_DIR = ".catalogue"  # under models_dir: weights read from the catalogue, one directory per fingerprint


def has_weights(engine: Engine, model_id: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM model_weights WHERE model_id = :m)"),
                                 {"m": model_id}).scalar())


def store_weights(engine: Engine, model_id: int, directory: Path) -> bool:
    """Keep a model directory's ``encoder.weights.h5`` and ``metadata.json`` in ``model_weights``
    (about 0.7 MB), unless already there or they are not the registered model's; True if stored."""
    weights, metadata = Path(directory) / ENCODER_FILE, Path(directory) / METADATA_FILE
    if not weights.is_file() or not metadata.is_file() or has_weights(engine, model_id):
        return False
    data = weights.read_bytes()
    with engine.begin() as conn:
        fingerprint = conn.execute(sa.text("SELECT fingerprint FROM models WHERE id = :m"), {"m": model_id}).scalar()
        if fingerprint != "sha256:" + hashlib.sha256(data).hexdigest():
            log.warning("%s: not the weights of model %d (fingerprint %s); not stored", weights, model_id, fingerprint)
            return False
        stored = conn.execute(sa.text(
            "INSERT INTO model_weights (model_id, encoder_weights, metadata) VALUES (:m, :w, CAST(:meta AS jsonb))"
            " ON CONFLICT (model_id) DO NOTHING"), {"m": model_id, "w": data, "meta": metadata.read_text()})
    return stored.rowcount == 1


def weights_from_catalogue(engine: Engine, model_id: int, models_dir: Path) -> Encoder | None:
    """The model's encoder from the weights kept in the catalogue, written once to
    ``models_dir/.catalogue/<sha256>`` and loaded from there (its fingerprint checked); None
    when the catalogue has no weights for it."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT m.fingerprint, w.encoder_weights, w.metadata FROM model_weights w JOIN models m ON m.id = w.model_id"
            " WHERE w.model_id = :m"), {"m": model_id}).first()
    if row is None:
        return None
    directory = models_dir / CACHE_DIR / row.fingerprint.removeprefix("sha256:")
    if not (directory / ENCODER_FILE).is_file():
        partial = directory.with_name(f"{directory.name}.{os.getpid()}.partial")  # workers may race: rename is atomic
        partial.mkdir(parents=True, exist_ok=True)
        (partial / ENCODER_FILE).write_bytes(bytes(row.encoder_weights))
        (partial / METADATA_FILE).write_text(json.dumps(row.metadata, indent=2, sort_keys=True))
        try:
            partial.rename(directory)
        except OSError:  # another worker was first
            shutil.rmtree(partial, ignore_errors=True)
    log.info("model %d: weights read from the catalogue into %s", model_id, directory)
    return resolve_model(str(directory))


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
            if encoder.path is not None:
                store_weights(engine, model_id, encoder.path)  # for workers without the files (once)
            return model_id, encoder
    encoder = weights_from_catalogue(engine, model_id, models_dir) if models_dir else None
    if encoder is not None and encoder.metadata.fingerprint == row.fingerprint:
        return model_id, encoder
    where = (f"copy its directory to {models_dir / row.name}" if models_dir
             else "only the shipped model was looked for (no models directory given)")
    raise RficatError(f"the weights of model {row.name} v{row.version} (id {model_id}, {row.fingerprint[:19]}...) "
                      f"are not on this machine nor in the catalogue; {where}")


def registered_encoder(engine: Engine, models_dir: Path | None, model: str) -> Encoder:
    """``model`` (a directory, ``NAME`` or ``NAME:vN``) from this machine's files, else, for a
    registered model, from the weights kept in the catalogue (a Dask worker elsewhere)."""
    try:
        return resolve_model(model, models_dir)
    except RficatError:
        name, _, version = model.partition(":")
        with engine.connect() as conn:
            model_id = conn.execute(sa.text(
                "SELECT id FROM models WHERE name = :n AND (:v = '' OR 'v' || version = :v)"
                " ORDER BY version DESC LIMIT 1"), {"n": name, "v": version}).scalar()
        encoder = None if model_id is None or models_dir is None else \
            weights_from_catalogue(engine, model_id, models_dir)
        if encoder is None:
            raise
        return encoder


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
