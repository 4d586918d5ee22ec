"""Drift rates measured against real bin times; detection parameters and frequency embeddings recorded.

Until this revision the reader binned any file to 16 time bins but detection divided by the
file's own ``tsamp``: drift rates of files with n != 16 integrations were off by the
integrations per bin (``n // 16`` for longer files, ``n / 16`` for shorter ones, which were
repeated up to 16). Stored drifts, and the drift summaries and ranges of RFI classes built on
them, are rescaled here from each observation's stored ``n_integrations``; downgrading undoes
it. Each observation now records how it was cut (``detection``) and each model the frequency
embedding its vectors carry (``frequency_embedding``), so searches never assume a default.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# What the old reader's drift was off by: it reported (true drift) x OLD_FACTOR.
OLD_FACTOR = "(CASE WHEN o.n_integrations >= 16 THEN (o.n_integrations / 16)::float8 ELSE o.n_integrations / 16.0 END)"
# The embedding every model registered before this revision used (rficat.science.embedding.DEFAULT then).
HISTORICAL_EMBEDDING = '{"band_start_mhz": 1000.0, "chunk_mhz": 1.0, "n": 10000.0, "weight": 1.0}'
# Drift range of a class as rficat.catalogue.rfi computed it then: 5th-95th percentile +- 0.1 Hz/s.
CLASS_DRIFTS = """
UPDATE rfi_classes c SET drift_median_hz_s = m.median, drift_iqr_hz_s = m.iqr,
       drift_min_hz_s = CASE WHEN c.drift_min_hz_s IS NULL THEN NULL ELSE m.p05 - 0.1 END,
       drift_max_hz_s = CASE WHEN c.drift_max_hz_s IS NULL THEN NULL ELSE m.p95 + 0.1 END
FROM (SELECT a.class_id,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY s.drift_rate_hz_s) AS median,
             percentile_cont(0.75) WITHIN GROUP (ORDER BY s.drift_rate_hz_s)
               - percentile_cont(0.25) WITHIN GROUP (ORDER BY s.drift_rate_hz_s) AS iqr,
             percentile_cont(0.05) WITHIN GROUP (ORDER BY s.drift_rate_hz_s) AS p05,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY s.drift_rate_hz_s) AS p95
      FROM rfi_assignments a JOIN snippets s ON s.id = a.snippet_id
      GROUP BY a.class_id
      HAVING bool_or(s.observation_id IN (SELECT id FROM observations WHERE n_integrations <> 16))) m
WHERE c.id = m.class_id
"""


def _rescale(operator: str) -> None:
    op.execute(f"UPDATE snippets s SET drift_rate_hz_s = s.drift_rate_hz_s {operator} {OLD_FACTOR}"
               " FROM observations o WHERE o.id = s.observation_id AND o.n_integrations <> 16")
    op.execute(CLASS_DRIFTS)


def upgrade() -> None:
    op.add_column("observations", sa.Column(
        "detection", JSONB,
        comment="How the snippets were cut: K^2 threshold, coarse-channel width, time bins and seconds per bin, "
                "window and stride (NULL threshold for observations ingested before it was recorded)."))
    op.execute("UPDATE observations SET detection = jsonb_build_object("
               "'threshold', NULL, 'coarse_channel_width', n_channels / greatest(n_coarse_channels, 1),"
               " 'n_time_bins', 16, 'n_integrations', n_integrations,"
               " 'integrations_per_bin', n_integrations / 16.0, 'time_bin_s', tsamp_s * n_integrations / 16.0,"
               " 'window_channels', 256, 'stride_channels', 128)")
    op.add_column("models", sa.Column(
        "frequency_embedding", JSONB, nullable=False, server_default=sa.text(f"'{HISTORICAL_EMBEDDING}'::jsonb"),
        comment="Frequency embedding added to this model's latent vectors to make freq_vector "
                "(band_start_mhz, chunk_mhz, n, weight); searches encode a query with the same one."))
    _rescale("/")


def downgrade() -> None:
    _rescale("*")
    op.drop_column("models", "frequency_embedding")
    op.drop_column("observations", "detection")
