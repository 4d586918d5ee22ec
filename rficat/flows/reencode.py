"""Re-encode the catalogue with a newly registered model, from stored snippet arrays only.

Resumable: each observation is encoded and committed on its own, and a rerun only visits
observations that still lack the model's vectors. With ``make_current`` the model becomes the
one searches use once every observation has its vectors (then rebuild the RFI classes).

    python -m rficat.flows.reencode MODEL [--make-current] [--workers N] [--dask-address tcp://HOST:PORT]
"""

from __future__ import annotations

import math

from prefect import flow, get_run_logger, task

from rficat.catalogue import ingest, models
from rficat.config import load_settings
from rficat.flows import fanout
from rficat.flows.ingest import index_vectors_task, lost_connection
from rficat.science.model import resolve_model
from rficat.store import db


@task(retries=3, retry_delay_seconds=[2, 5, 15], retry_condition_fn=lost_connection,
      task_run_name="encode observations {first}..{last}")
def reencode_batch(observation_ids: list[int], model_id: int, first: int, last: int) -> int:
    """Encode a batch of observations with the registered model ``model_id`` (its weights from this
    machine's model directories, else from the catalogue: a Dask worker elsewhere needs no copy)."""
    settings = load_settings()
    with db.open_catalogue(settings) as catalogue:
        _, encoder = models.encoder_for(catalogue.engine, settings.models_dir, model_id)
        return sum(ingest.reencode_observation(catalogue.engine, oid, encoder, settings.models_dir)
                   for oid in observation_ids)


@flow(name="reencode-on-dask", log_prints=True)
def reencode_on_dask(batches: list[list[int]], model_id: int) -> int:
    """Every batch as a task on the run's Dask task runner (``rficat.flows.fanout``)."""
    futures = [reencode_batch.submit(batch, model_id, batch[0], batch[-1]) for batch in batches]
    return sum(future.result() for future in futures)


@flow(name="reencode-catalogue", log_prints=True)
def reencode_catalogue(model: str | None = None, observations_per_task: int = 50, make_current: bool = False,
                       workers: int = 1, dask_address: str | None = None) -> dict:
    """Compute `model`'s vectors for every stored snippet that lacks them; optionally make it current.

    ``workers`` > 1: the batches run on a local Dask cluster of that many processes;
    ``dask_address`` (default: ``RFICAT_DASK_ADDRESS``): on that Dask scheduler's workers.
    """
    logger = get_run_logger()
    settings = load_settings()
    with db.open_catalogue(settings) as catalogue:
        # registering stores the weights in the catalogue too, where workers elsewhere read them
        model_id = models.register(catalogue.engine, resolve_model(model, settings.models_dir))
        todo = models.observations_missing_model(catalogue.engine, model_id)
    logger.info("model %s (id %d): %d observations to encode", model or "default", model_id, len(todo))
    address = fanout.dask_address(dask_address)
    if fanout.fans_out(workers, address):  # batches small enough to keep every worker busy
        observations_per_task = max(1, min(observations_per_task, math.ceil(len(todo) / (4 * max(workers, 2)))))
    batches = [todo[start:start + observations_per_task] for start in range(0, len(todo), observations_per_task)]
    if not batches:
        encoded = 0
    elif fanout.fans_out(workers, address):
        encoded = fanout.run_on_dask(reencode_on_dask, workers, address, batches, model_id)
    else:
        encoded = sum(reencode_batch(batch, model_id, batch[0], batch[-1]) for batch in batches)
    if encoded:
        index_vectors_task()
    if make_current:
        with db.open_catalogue(load_settings()) as catalogue:
            models.make_model_current(catalogue.engine, model_id)
        logger.info("model %d is now the catalogue's current model; rebuild the RFI classes (rficat rfi build)",
                    model_id)
    return {"model_id": model_id, "observations": len(todo), "snippets_encoded": encoded, "current": make_current}


if __name__ == "__main__":
    import argparse

    from rficat.flows import temporary_server

    parser = argparse.ArgumentParser(prog="python -m rficat.flows.reencode")
    parser.add_argument("model", nargs="?", default=None, help="a model name, NAME:vN, or a model directory")
    parser.add_argument("--make-current", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="local Dask worker processes (1: in this process)")
    parser.add_argument("--dask-address", default=None, help="a Dask scheduler (default: $RFICAT_DASK_ADDRESS)")
    args = parser.parse_args()
    temporary_server.start()  # without PREFECT_API_URL: one that ends with this process
    print(reencode_catalogue(args.model, make_current=args.make_current, workers=args.workers,
                             dask_address=args.dask_address))
