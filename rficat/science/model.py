"""The β-VAE of Ma et al. (2023), in Keras 3 (``keras`` API only: TensorFlow, JAX or PyTorch).

Encoder: 16 x 256 x 1 input; five 3x3 convolutions (16, 32, 32, 32, 32 filters, ReLU), each
followed by (1, 2) max-pooling and batch normalisation; dense 32, dense 16; the latent mean
and log-variance. The decoder mirrors it with (1, 2) transposed convolutions and a sigmoid
output. Loss = reconstruction (binary cross-entropy summed over pixels) + β * KL. The
embedding of a snippet is the encoder mean.

A saved model is a directory: ``encoder.weights.h5`` (all ``encode`` needs),
``decoder.weights.h5`` (for further training, optional) and ``metadata.json`` (latent
dimension, β, training data description, metrics, seed, and the sha256 fingerprint of the
encoder weights).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rficat.errors import RficatError

log = logging.getLogger(__name__)

INPUT_SHAPE = (16, 256, 1)
CONV_FILTERS = (16, 32, 32, 32, 32)
DEFAULT_LATENT_DIM = 5
ENCODER_FILE = "encoder.weights.h5"
DECODER_FILE = "decoder.weights.h5"
METADATA_FILE = "metadata.json"
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "models" / "default"


# TensorFlow's native start-up lines: absl's "I0000 00:00:... port.cc:153] ...", CUDA probing on
# a machine without a GPU ("E0000 ... failed call to cuInit"), and absl's notice about them
_NATIVE_LOG = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
                         r"|[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ \S+:\d+\]"
                         r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] )")


@contextlib.contextmanager
def _native_start_up_lines_held_back():
    """TensorFlow 2.20+ writes its start-up lines before TF_CPP_MIN_LOG_LEVEL is read: while it
    loads, stderr (file descriptor 2) goes to a temporary file, and every other line is written back
    afterwards. TF_CPP_MIN_LOG_LEVEL=0 or 1 (set by the user) shows them all."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2") in ("0", "1"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            lines = held.read().decode(errors="replace").splitlines(keepends=True)
            kept = "".join(line for line in lines if not _NATIVE_LOG.match(line))
            if kept:
                os.write(2, kept.encode())


def _keras():
    if "keras" not in sys.modules:
        with _native_start_up_lines_held_back():
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter
            import keras

            keras.ops.zeros(1)  # the backend picks its device (CUDA probing) on first use
    import keras

    return keras


def build_encoder(latent_dim: int = DEFAULT_LATENT_DIM):
    keras = _keras()
    from keras import layers

    inputs = keras.Input(shape=INPUT_SHAPE, name="snippet")
    x = inputs
    for filters in CONV_FILTERS:
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(pool_size=(1, 2))(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(32, activation="relu")(x)
    x = layers.Dense(16, activation="relu")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    return keras.Model(inputs, [z_mean, z_log_var], name="encoder")


def build_decoder(latent_dim: int = DEFAULT_LATENT_DIM):
    keras = _keras()
    from keras import layers

    width = INPUT_SHAPE[1] // 2 ** len(CONV_FILTERS)
    inputs = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(16, activation="relu")(inputs)
    x = layers.Dense(32, activation="relu")(x)
    x = layers.Dense(INPUT_SHAPE[0] * width * CONV_FILTERS[-1], activation="relu")(x)
    x = layers.Reshape((INPUT_SHAPE[0], width, CONV_FILTERS[-1]))(x)
    for filters in reversed(CONV_FILTERS):
        x = layers.Conv2DTranspose(filters, 3, strides=(1, 2), padding="same", activation="relu")(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
    outputs = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="decoder")


def _sampling_layer(beta: float, seed: int):
    keras = _keras()
    from keras import ops

    class SampleWithKL(keras.layers.Layer):
        """Reparameterisation, adding β * KL(q(z|x) || N(0, 1)) to the model's losses."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, z_mean, z_log_var, training=None):
            kl = -0.5 * ops.sum(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=1)
            self.add_loss(beta * ops.mean(kl))
            if not training:
                return z_mean
            eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * eps

    return SampleWithKL(name="sample")


def reconstruction_loss(y_true, y_pred):
    """Binary cross-entropy summed over the 16 x 256 pixels (per snippet)."""
    from keras import ops

    eps = 1e-7
    y_pred = ops.clip(y_pred, eps, 1 - eps)
    bce = -(y_true * ops.log(y_pred) + (1 - y_true) * ops.log(1 - y_pred))
    return ops.sum(ops.reshape(bce, (ops.shape(bce)[0], -1)), axis=1)


def build_vae(latent_dim: int = DEFAULT_LATENT_DIM, beta: float = 1.0, seed: int = 0,
              learning_rate: float = 1e-4):
    """(vae, encoder, decoder), the VAE compiled with Adam as the paper."""
    keras = _keras()
    keras.utils.set_random_seed(seed)
    encoder, decoder = build_encoder(latent_dim), build_decoder(latent_dim)
    inputs = keras.Input(shape=INPUT_SHAPE)
    z_mean, z_log_var = encoder(inputs)
    z = _sampling_layer(beta, seed)(z_mean, z_log_var)
    vae = keras.Model(inputs, decoder(z), name="beta_vae")
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=reconstruction_loss)
    return vae, encoder, decoder


@dataclass
class ModelMetadata:
    name: str
    version: int = 1
    latent_dim: int = DEFAULT_LATENT_DIM
    beta: float = 1.0
    fingerprint: str = ""
    training: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


class Encoder:
    """A loaded encoder: snippets in, latent means out."""

    def __init__(self, model, metadata: ModelMetadata, path: Path | None = None):
        self.model = model
        self.metadata = metadata
        self.path = path
        self._predict = None

    @property
    def latent_dim(self) -> int:
        return self.metadata.latent_dim

    def encode(self, snippets: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """(n, 16, 256[, 1]) normalised snippets -> (n, latent_dim) float32 encoder means."""
        x = validate_snippets(snippets)
        if x.shape[0] == 0:
            return np.empty((0, self.latent_dim), dtype=np.float32)
        out = [np.asarray(self.model.predict_on_batch(x[i:i + batch_size])[0])
               for i in range(0, x.shape[0], batch_size)]
        return np.concatenate(out).astype(np.float32)


def validate_snippets(snippets: np.ndarray) -> np.ndarray:
    x = np.asarray(snippets, dtype=np.float32)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:] != INPUT_SHAPE:
        raise RficatError(f"snippets must have shape (n, 16, 256) or (n, 16, 256, 1), got {np.shape(snippets)}")
    if not np.isfinite(x).all():
        raise RficatError(f"snippets contain {int((~np.isfinite(x)).sum())} NaN or infinite values; normalise them first")
    return x


def weights_fingerprint(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def save_model(directory: str | os.PathLike, encoder, metadata: ModelMetadata, decoder=None) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    encoder.save_weights(directory / ENCODER_FILE)
    if decoder is not None:
        decoder.save_weights(directory / DECODER_FILE)
    metadata.fingerprint = weights_fingerprint(directory / ENCODER_FILE)
    (directory / METADATA_FILE).write_text(metadata.to_json())
    return directory


def load_model(directory: str | os.PathLike | None = None) -> Encoder:
    """Load a saved encoder (the shipped default when no directory is given)."""
    directory = Path(directory) if directory else SHIPPED_DIR
    meta_path, weights = directory / METADATA_FILE, directory / ENCODER_FILE
    if not meta_path.is_file() or not weights.is_file():
        raise RficatError(f"{directory}: not an rficat model (needs {METADATA_FILE} and {ENCODER_FILE})")
    try:
        metadata = ModelMetadata(**json.loads(meta_path.read_text()))
    except (ValueError, TypeError) as exc:
        raise RficatError(f"{meta_path}: unreadable model metadata ({exc})") from exc
    if metadata.fingerprint and weights_fingerprint(weights) != metadata.fingerprint:
        raise RficatError(f"{weights}: weights do not match the fingerprint in {METADATA_FILE} (corrupt or replaced)")
    encoder = build_encoder(metadata.latent_dim)
    try:
        encoder.load_weights(weights)
    except Exception as exc:  # noqa: BLE001 - h5py / keras raise many types for a bad file
        raise RficatError(f"{weights}: cannot load encoder weights ({exc})") from exc
    return Encoder(encoder, metadata, directory)


# --- contrastive training (the default objective) -----------------------------------------------

def nt_xent(temperature: float = 0.2):
    """SimCLR's NT-Xent loss over a batch of (2, d) view pairs (Chen et al. 2020; as Stein et al.)."""
    keras = _keras()
    from keras import ops

    def loss(y_true, y_pred):
        z = y_pred / (ops.norm(y_pred, axis=-1, keepdims=True) + 1e-8)
        n = ops.shape(z)[0]
        both = ops.concatenate([z[:, 0], z[:, 1]], axis=0)
        logits = ops.matmul(both, ops.transpose(both)) / temperature - 1e9 * ops.eye(2 * n)
        positives = ops.concatenate([ops.arange(n) + n, ops.arange(n)], axis=0)
        return keras.losses.sparse_categorical_crossentropy(positives, logits, from_logits=True)

    return loss


def build_contrastive(latent_dim: int = DEFAULT_LATENT_DIM, beta: float = 1e-3, temperature: float = 0.2,
                      seed: int = 0, learning_rate: float = 1e-3):
    """(model, encoder): the paper's encoder trained so two views of one emitter embed together.

    Both views go through the same encoder; the output stacks their means as (batch, 2, d).
    A small β * KL term keeps the means near the N(0, 1) scale the frequency embedding assumes.
    """
    keras = _keras()
    from keras import layers

    keras.utils.set_random_seed(seed)
    encoder = build_encoder(latent_dim)
    view_a, view_b = keras.Input(shape=INPUT_SHAPE), keras.Input(shape=INPUT_SHAPE)
    means = []
    sampler = _sampling_layer(beta, seed)
    for view in (view_a, view_b):
        z_mean, z_log_var = encoder(view)
        means.append(layers.Reshape((1, latent_dim))(sampler(z_mean, z_log_var, training=False)))
    model = keras.Model([view_a, view_b], layers.Concatenate(axis=1)(means), name="contrastive_encoder")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=nt_xent(temperature))
    return model, encoder


# --- finding models ---------------------------------------------------------------------------------

_CACHE: dict[str, Encoder] = {}


def model_versions(models_dir: Path, name: str) -> list[Path]:
    """Saved versions of a named model under ``$RFICAT_HOME/models/NAME/vN``, oldest first."""
    root = models_dir / name
    if not root.is_dir():
        return []
    versions = [p for p in root.iterdir() if p.is_dir() and p.name[1:].isdigit() and p.name[0] == "v"]
    return sorted(versions, key=lambda p: int(p.name[1:]))


def resolve_model(model: Encoder | str | os.PathLike | None = None, models_dir: Path | None = None) -> Encoder:
    """The encoder to use: an Encoder, a model directory, ``NAME`` / ``NAME:vN`` under
    ``models_dir`` (the caller's ``$RFICAT_HOME/models``), or (None / "default") the model
    shipped with rficat. Cached."""
    if isinstance(model, Encoder):
        return model
    key = str(model or "default")
    if key in _CACHE:
        return _CACHE[key]
    if model is None or key == "default":
        loaded = load_model(SHIPPED_DIR)
    elif Path(key).is_dir():
        loaded = load_model(key)
    else:
        name, _, version = key.partition(":")
        versions = model_versions(models_dir, name) if models_dir else []
        chosen = [p for p in versions if p.name == version] if version else versions[-1:]
        if not chosen:
            raise RficatError(f"no model {key!r} (not a directory, and not saved under {models_dir})")
        loaded = load_model(chosen[0])
    _CACHE[key] = loaded
    return loaded
