"""The encoder, the frequency embedding, training, and the shipped default model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sqlalchemy as sa
from numpy.testing import assert_allclose, assert_array_equal

import rficat
from rficat.cli import main
from rficat.config import load_settings
from rficat.errors import RficatError
from rficat.science import embedding, model, train
from rficat.store import db
from rficat.synthetic import corpus


@pytest.fixture(scope="module")
def snippets() -> np.ndarray:
    x, _ = corpus.training_corpus(40, seed=3)
    return x


def test_default_model_shapes_and_determinism(snippets):
    default = model.load_model()
    z1 = rficat.encode(snippets)
    z2 = rficat.encode(snippets[..., None])  # trailing channel axis accepted
    assert z1.shape == (len(snippets), default.latent_dim) and z1.dtype == np.float32
    assert_array_equal(z1, z2)
    assert default.metadata.fingerprint == model.weights_fingerprint(model.SHIPPED_DIR / model.ENCODER_FILE)


def test_encode_with_frequencies_adds_the_embedding(snippets):
    freqs = np.linspace(1800, 2900, len(snippets))
    latent = rficat.encode(snippets)
    with_freq = rficat.encode(snippets, freqs_mhz=freqs)
    assert_allclose(with_freq - latent, embedding.DEFAULT.encoding(freqs, latent.shape[1]), atol=1e-6)


@pytest.mark.parametrize("dim", [5, 8])
def test_embedding_matches_closed_form(dim):
    emb = embedding.FrequencyEmbedding(band_start_mhz=1800, chunk_mhz=1.1, n=10000, weight=0.5)
    freqs = np.array([1800.0, 1801.2, 2345.6, 2899.9])
    k = np.floor((freqs - 1800) / 1.1)
    expected = np.zeros((4, dim))
    for row, kk in enumerate(k):
        for j in range(dim):
            i = j // 2
            angle = kk / 10000 ** (2 * i / dim)
            expected[row, j] = np.sin(angle) if j % 2 == 0 else np.cos(angle)
    assert_allclose(emb.encoding(freqs, dim), expected, atol=1e-6)
    latent = np.ones((4, dim), dtype=np.float32)
    assert_allclose(emb.apply(latent, freqs), 1 + 0.5 * expected, atol=1e-6)


def test_save_load_round_trip(tmp_path, snippets):
    enc = model.build_encoder(6)
    saved = model.save_model(tmp_path / "m", enc, model.ModelMetadata("m", latent_dim=6))
    before = model.Encoder(enc, model.ModelMetadata("m", latent_dim=6)).encode(snippets)
    after = model.load_model(saved).encode(snippets)
    assert_array_equal(before, after)


def _separation(z: np.ndarray, labels: np.ndarray) -> float:
    u = z / np.linalg.norm(z, axis=1, keepdims=True)
    sim = u @ u.T
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    different = labels[:, None] != labels[None, :]
    return float(sim[same].mean() - sim[different].mean())


@pytest.mark.slow
def test_a_few_training_steps_separate_two_morphologies():
    families = ("narrowband", "broadband_pulsed")
    a, b, _ = corpus.synthetic_pairs(768, families, seed=1)
    x, labels = corpus.training_corpus(120, families=families, seed=2, noise_fraction=0)
    untrained = model.Encoder(model.build_encoder(5), model.ModelMetadata("u", latent_dim=5))
    encoder, _, _ = train.train_model(a, b, latent_dim=5, epochs=3, batch_size=32, seed=0)
    trained = model.Encoder(encoder, model.ModelMetadata("t", latent_dim=5))
    assert _separation(trained.encode(x), labels) > _separation(untrained.encode(x), labels) + 0.05


@pytest.mark.slow
def test_vae_objective_trains_and_reconstructs_shape():
    x, _ = corpus.training_corpus(64, seed=5)
    encoder, decoder, meta = train.train_model(x, objective="vae", latent_dim=4, beta=1.0, epochs=1, batch_size=32)
    assert meta.training["objective"] == "vae" and meta.beta == 1.0
    z = model.Encoder(encoder, meta).encode(x)
    assert decoder.predict_on_batch(z).shape == (64, 16, 256, 1)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((3, 16, 128)), "shape"),
    (np.zeros((16, 256)), "shape"),
    (np.full((2, 16, 256), np.nan), "NaN"),
])
def test_bad_snippets(bad, message):
    with pytest.raises(RficatError, match=message):
        rficat.encode(bad)


def test_missing_and_corrupt_model(tmp_path, snippets):
    with pytest.raises(RficatError, match="not an rficat model"):
        model.load_model(tmp_path / "nothing")
    saved = model.save_model(tmp_path / "m", model.build_encoder(5), model.ModelMetadata("m"))
    weights = saved / model.ENCODER_FILE
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(RficatError, match="fingerprint"):
        model.load_model(saved)
    meta = json.loads((saved / model.METADATA_FILE).read_text())
    meta["fingerprint"] = ""
    (saved / model.METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(RficatError, match="cannot load encoder weights"):
        model.load_model(saved)


def test_register_refuses_a_different_model_under_the_same_version(catalogue):
    meta = model.ModelMetadata("clash", version=1, latent_dim=5, fingerprint="sha256:aaa")
    first = db.register_model(catalogue.engine, meta)
    assert db.register_model(catalogue.engine, meta) == first  # same weights: same id
    other = model.ModelMetadata("clash", version=1, latent_dim=8, fingerprint="sha256:bbb")
    with pytest.raises(RficatError, match="latent dimension 5"):
        db.register_model(catalogue.engine, other)
    with catalogue.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM models WHERE name = 'clash'")).scalar() == 1


@pytest.mark.slow
def test_train_cli_saves_versions_and_registers(catalogue, capsys):
    outputs = []
    for _ in range(2):
        code = main(["train", "--n", "96", "--epochs", "1", "--latent-dim", "4", "--name", "tiny", "--json"])
        assert code == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert [o["version"] for o in outputs] == [1, 2]
    loaded = model.resolve_model("tiny", load_settings().models_dir)
    assert loaded.metadata.version == 2 and loaded.latent_dim == 4
    with catalogue.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT version, latent_dim FROM models WHERE name = 'tiny' ORDER BY version")).all()
    assert [tuple(r) for r in rows] == [(1, 4), (2, 4)]
    assert outputs[0]["model_id"] is not None


@pytest.mark.slow
def test_train_from_db(fresh_db_url, monkeypatch, capsys, observation):
    """--from-db trains on stored snippet arrays; an empty catalogue is a clear error."""
    monkeypatch.setenv("RFICAT_DATABASE_URL", fresh_db_url)
    engine = db.make_engine(fresh_db_url)
    db.migrate(engine)
    argv = ["train", "--from-db", "--n", "200", "--epochs", "1", "--name", "fromdb", "--json"]
    assert main(argv) == 1
    assert "no snippets" in capsys.readouterr().err
    from rficat.science import detect
    from rficat.science import snippets as snip
    with engine.begin() as conn:
        obs = conn.execute(sa.text(
            "INSERT INTO observations (path, fingerprint, f_min_mhz, f_max_mhz, fch1_mhz, foff_mhz, tsamp_s,"
            " n_channels, n_integrations, header) VALUES ('x', 'fp', 1, 2, 2, -1, 1, 1, 16, '{}') RETURNING id")).scalar()
        for _, index, result in detect.detect_file(observation["h5"], n_noise_per_channel=10):
            for hit, array in zip(result.hits, snip.normalise(result.snippets)):
                conn.execute(sa.text(
                    "WITH s AS (INSERT INTO snippets (observation_id, coarse_channel, chan_start, chan_stop, f_start_mhz,"
                    " f_stop_mhz, f_center_mhz, statistic, snr, drift_rate_hz_s, is_signal) VALUES (:o, :c,"
                    " :a, :b, :fs, :fe, :fc, :s, :snr, :d, :sig) RETURNING id)"
                    " INSERT INTO snippet_arrays (snippet_id, data) SELECT id, :data FROM s"),
                    {"o": obs, "c": index, "a": hit.chan_start, "b": hit.chan_stop, "fs": hit.f_start_mhz,
                     "fe": hit.f_stop_mhz, "fc": hit.f_center_mhz, "s": hit.statistic, "snr": hit.snr,
                     "d": hit.drift_rate_hz_s, "sig": hit.is_signal, "data": snip.to_bytes(array)})
    engine.dispose()
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["training"]["n_samples"] == 80  # 40 hits + 4 x 10 noise windows
    assert "catalogue snippets" in result["training"]["description"]


def test_unknown_family_and_model(capsys):
    assert main(["train", "--families", "narrowband,unicorn", "--no-register"]) == 1
    assert "unicorn" in capsys.readouterr().err
    with pytest.raises(RficatError, match="no model"):
        model.resolve_model("does-not-exist")
