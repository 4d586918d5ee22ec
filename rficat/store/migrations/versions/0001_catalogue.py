"""The catalogue: observations, cadences, snippets, models, embeddings.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import JSONB

from rficat.store import sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")

def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")

    op.create_table(
        "observations",
        sa.Column("id", sa.BigInteger, primary_key=True, comment="Observation id."),
        sa.Column("path", sa.Text, nullable=False, comment="File path at ingest time."),
        sa.Column("fingerprint", sa.Text, nullable=False, comment="Content fingerprint (sha256 of header and sampled data blocks); the same file is never ingested twice."),
        sa.Column("source_name", sa.Text, comment="Target name from the header (source_name)."),
        sa.Column("telescope", sa.Text, comment="Telescope name (from the header's telescope_id)."),
        sa.Column("mjd_start", sa.Double, comment="Start time, MJD (header tstart)."),
        sa.Column("f_min_mhz", sa.Double, nullable=False, comment="Lowest channel centre frequency, MHz."),
        sa.Column("f_max_mhz", sa.Double, nullable=False, comment="Highest channel centre frequency, MHz."),
        sa.Column("fch1_mhz", sa.Double, nullable=False, comment="Frequency of the first channel, MHz (header fch1)."),
        sa.Column("foff_mhz", sa.Double, nullable=False, comment="Channel width, MHz; negative when frequency decreases with channel index (header foff)."),
        sa.Column("tsamp_s", sa.Double, nullable=False, comment="Time resolution: seconds per integration (header tsamp)."),
        sa.Column("n_channels", sa.BigInteger, nullable=False, comment="Number of fine frequency channels."),
        sa.Column("n_integrations", sa.Integer, nullable=False, comment="Number of time integrations."),
        sa.Column("n_coarse_channels", sa.Integer, comment="Number of coarse channels the file was split into."),
        sa.Column("header", JSONB, nullable=False, comment="The full file header as read."),
        sa.Column("status", sa.Text, nullable=False, server_default="ingesting", comment="ingesting (not yet visible in search), complete, or failed."),
        sa.Column("ingested_at", sa.DateTime(timezone=True), comment="When ingest completed."),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW, comment="When the row was created."),
        sa.CheckConstraint("status IN ('ingesting', 'complete', 'failed')", name="ck_observations_status"),
        sa.UniqueConstraint("fingerprint", name="uq_observations_fingerprint"),
        comment="One filterbank file (.fil or .h5) known to the catalogue.",
    )

    op.create_table(
        "cadences",
        sa.Column("id", sa.Integer, primary_key=True, comment="Cadence id."),
        sa.Column("name", sa.Text, nullable=False, comment="User-chosen cadence name."),
        sa.Column("pattern", sa.Text, nullable=False, comment="Scan pattern, one letter per scan, e.g. ABACAD (A = ON target)."),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW, comment="When the cadence was recorded."),
        sa.UniqueConstraint("name", name="uq_cadences_name"),
        comment="An ON/OFF observing cadence such as ABACAD.",
    )

    op.create_table(
        "cadence_members",
        sa.Column("cadence_id", sa.Integer, sa.ForeignKey("cadences.id", ondelete="CASCADE"), primary_key=True, comment="Cadence id."),
        sa.Column("position", sa.Integer, primary_key=True, comment="0-based scan position in the cadence."),
        sa.Column("observation_id", sa.BigInteger, sa.ForeignKey("observations.id", ondelete="CASCADE"), nullable=False, comment="Observation of this scan."),
        sa.Column("role", sa.Text, nullable=False, comment="ON (target) or OFF (reference) scan."),
        sa.UniqueConstraint("cadence_id", "observation_id", name="uq_cadence_members_observation"),
        sa.CheckConstraint("role IN ('ON', 'OFF')", name="ck_cadence_members_role"),
        comment="The scans of a cadence, in order, with their ON/OFF role.",
    )

    op.create_table(
        "snippets",
        sa.Column("id", sa.BigInteger, primary_key=True, comment="Snippet id."),
        sa.Column("observation_id", sa.BigInteger, sa.ForeignKey("observations.id", ondelete="CASCADE"), nullable=False, comment="Observation the snippet was cut from."),
        sa.Column("coarse_channel", sa.Integer, nullable=False, comment="Coarse channel index within the file."),
        sa.Column("chan_start", sa.BigInteger, nullable=False, comment="First fine channel (file index, inclusive)."),
        sa.Column("chan_stop", sa.BigInteger, nullable=False, comment="Last fine channel (file index, exclusive)."),
        sa.Column("f_start_mhz", sa.Double, nullable=False, comment="Frequency of chan_start, MHz."),
        sa.Column("f_stop_mhz", sa.Double, nullable=False, comment="Frequency of the last channel, MHz."),
        sa.Column("f_center_mhz", sa.Double, nullable=False, comment="Centre frequency of the window, MHz."),
        sa.Column("statistic", sa.Double, nullable=False, comment="D'Agostino-Pearson normality statistic of the window (higher = less noise-like)."),
        sa.Column("snr", sa.Double, comment="Signal-to-noise estimate of the time-collapsed peak."),
        sa.Column("drift_rate_hz_s", sa.Double, comment="Drift-rate estimate, Hz/s."),
        sa.Column("is_signal", sa.Boolean, nullable=False, comment="True for a detected signal window, false for a noise window."),
        sa.Column("data", sa.LargeBinary, nullable=False, comment="Normalised 16 x 256 snippet, float16 little-endian, row-major (time, frequency)."),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW, comment="When the snippet was stored."),
        comment="A 16 x 256 spectrogram window found by energy detection (or a noise window kept for training).",
    )
    # Snippet arrays are noise-like float16 that pglz cannot shrink: store them uncompressed
    # out of line so bulk COPY does not spend time trying.
    op.execute("ALTER TABLE snippets ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_index("ix_snippets_observation_id", "snippets", ["observation_id"])
    op.create_index("ix_snippets_f_center_mhz", "snippets", ["f_center_mhz"])

    op.create_table(
        "models",
        sa.Column("id", sa.Integer, primary_key=True, comment="Model id."),
        sa.Column("name", sa.Text, nullable=False, comment="Model name, e.g. default."),
        sa.Column("version", sa.Integer, nullable=False, comment="Version number within the name."),
        sa.Column("latent_dim", sa.Integer, nullable=False, comment="Dimension of the latent (and frequency-embedded) vectors."),
        sa.Column("fingerprint", sa.Text, nullable=False, comment="sha256 of the model weights."),
        sa.Column("training", JSONB, nullable=False, server_default="{}", comment="Training metadata: beta, data description, metrics, seed."),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW, comment="When the model was registered."),
        sa.UniqueConstraint("name", "version", name="uq_models_name_version"),
        sa.UniqueConstraint("fingerprint", name="uq_models_fingerprint"),
        sa.CheckConstraint("latent_dim BETWEEN 1 AND 2000", name="ck_models_latent_dim"),
        comment="An encoder model whose vectors are stored in embeddings.",
    )

    op.create_table(
        "embeddings",
        sa.Column("snippet_id", sa.BigInteger, sa.ForeignKey("snippets.id", ondelete="CASCADE"), primary_key=True, comment="Snippet id."),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), primary_key=True, comment="Model id."),
        sa.Column("latent", Vector(), nullable=False, comment="Encoder mean (morphology only)."),
        sa.Column("freq_vector", Vector(), nullable=False, comment="Latent vector plus the sinusoidal frequency embedding."),
        comment="Vectors of each snippet under each model. Each model has its own partial HNSW cosine indexes.",
    )
    op.create_index("ix_embeddings_model_id", "embeddings", ["model_id"])

    # each model gets its own partial expression HNSW indexes (pgvector's way to index vectors of
    # mixed dimensions in one column), built by a trigger when the model is registered
    for name in ("rficat_index_model", "rficat_index_new_model", "models_index_vectors"):
        op.execute(sql.load(name, 1))


def downgrade() -> None:
    op.drop_table("embeddings")
    op.execute("DROP FUNCTION IF EXISTS rficat_index_new_model() CASCADE")
    op.execute("DROP FUNCTION IF EXISTS rficat_index_model(integer)")
    op.drop_table("models")
    op.drop_table("snippets")
    op.drop_table("cadence_members")
    op.drop_table("cadences")
    op.drop_table("observations")
