"""rficat: a PostgreSQL + pgvector catalogue of radio-frequency-interference lookalikes."""

from __future__ import annotations

__version__ = "0.1.0"


def encode(snippets, freqs_mhz=None, model=None, embedding=None):
    """Embed normalised snippets.

    Args:
        snippets: (n, 16, 256) array of normalised snippets (a trailing channel axis of 1 is
            accepted), e.g. from ``rficat.science.snippets.normalise``.
        freqs_mhz: optional (n,) centre frequencies in MHz; when given, the frequency
            embedding is added and the frequency-embedded vectors are returned.
        model: an ``rficat.science.model.Encoder``, a model directory, a saved model name
            (``NAME`` or ``NAME:vN``), or None for the model shipped with rficat.
        embedding: a ``rficat.science.embedding.FrequencyEmbedding`` (default: 1 MHz chunks).

    Returns:
        (n, d) float32 vectors: latent means, or latent + frequency embedding.
    """
    from rficat.config import load_settings
    from rficat.science import embedding as _embedding
    from rficat.science.model import resolve_model

    latent = resolve_model(model, load_settings().models_dir).encode(snippets)
    if freqs_mhz is None:
        return latent
    return (embedding or _embedding.DEFAULT).apply(latent, freqs_mhz)
