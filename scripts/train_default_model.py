"""Train the default encoder shipped in rficat/models/default (reproducible: fixed seeds).

    python scripts/train_default_model.py            # ~15 min on a 2-core CPU

The paper's encoder architecture (latent 8), contrastive objective with a small β-KL term,
on 24,000 synthetic emitter pairs spread over all morphology families of rficat.synthetic.corpus.
"""

from __future__ import annotations

import sys
import time

from rficat.science import model, train
from rficat.synthetic import corpus

SEED = 0
N_PAIRS = 24_000
LATENT_DIM = 8
EPOCHS = 12


def main() -> None:
    start = time.perf_counter()
    a, b, _ = corpus.synthetic_pairs(N_PAIRS, seed=SEED)
    print(f"corpus: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    encoder, _, metadata = train.train_model(
        a, b, objective="contrastive", latent_dim=LATENT_DIM, epochs=EPOCHS, seed=SEED, name="default",
        description=f"{N_PAIRS} synthetic emitter pairs, families: all of rficat.synthetic.corpus.FAMILIES")
    metadata.training["train_seconds"] = round(time.perf_counter() - start)
    out = model.save_model(model.SHIPPED_DIR, encoder, metadata)
    print(f"saved {out} ({metadata.fingerprint}) in {time.perf_counter() - start:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
