"""Re-encode the catalogue with a newly registered model, from stored snippet arrays only.

Resumable: each observation is encoded and committed on its own, and a rerun only visits
observations that still lack the model's vectors. With ``make_current`` the model becomes the
one searches use once every observation has its vectors (then rebuild the RFI classes).

    python -m rficat.flows.reencode MODEL [--make-current]   # a model name, NAME:vN, or a model directory
"""

from __future__ import annotations

import sys

from prefect import flow, get_run_logger, task

from rficat.catalogue import ingest, models
from rficat.config import load_settings
from rficat.flows.ingest import index_vectors_task, lost_connection
from rficat.science.model import resolve_model
from rficat.store import db


@task(retries=3, retry_delay_seconds=[2, 5, 15], retry_condition_fn=lost_connection,
      task_run_name="encode observations {first}..{last}")
def reencode_batch(observation_ids: list[int], model: str | None, first: int, last: int) -> int:
    settings = load_settings()
    with db.open_catalogue(settings) as catalogue:
        return sum(ingest.reencode_observation(catalogue.engine, oid, model, settings.models_dir)
                   for oid in observation_ids)


@flow(name="reencode-catalogue", log_prints=True)
def reencode_catalogue(model: str | None = None, observations_per_task: int = 50, make_current: bool = False) -> dict:
    """Compute `model`'s vectors for every stored snippet that lacks them; optionally make it current."""
    logger = get_run_logger()
    settings = load_settings()
    with db.open_catalogue(settings) as catalogue:
        model_id = models.register(catalogue.engine, resolve_model(model, settings.models_dir))
        todo = models.observations_missing_model(catalogue.engine, model_id)
    logger.info("model %s (id %d): %d observations to encode", model or "default", model_id, len(todo))
    encoded = 0
    for start in range(0, len(todo), observations_per_task):
        batch = todo[start:start + observations_per_task]
        encoded += reencode_batch(batch, model, batch[0], batch[-1])
    if encoded:
        index_vectors_task()
    if make_current:
        with db.open_catalogue(load_settings()) as catalogue:
            models.make_model_current(catalogue.engine, model_id)
        logger.info("model %d is now the catalogue's current model; rebuild the RFI classes (rficat rfi build)",
                    model_id)
    return {"model_id": model_id, "observations": len(todo), "snippets_encoded": encoded, "current": make_current}


if __name__ == "__main__":
    from rficat.flows import temporary_server

    temporary_server.start()  # without PREFECT_API_URL: one that ends with this process
    arguments = [a for a in sys.argv[1:] if a != "--make-current"]
    print(reencode_catalogue(arguments[0] if arguments else None, make_current="--make-current" in sys.argv))
