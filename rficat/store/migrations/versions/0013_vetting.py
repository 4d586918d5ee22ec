"""Vetting other pipelines' hits: each snippet's detector, and a site's own RFI bands.

``rficat vet --store`` keeps vetted hits (turboSETI, hyperseti, a plain table) as snippets of
their observation; ``snippets.detector`` says what found each one (NULL: rficat's own energy
detection at ingest). A file first seen by ``vet --store`` gets its observation row with
``detection`` NULL: the next ``rficat ingest`` of it detects into that row instead of
skipping it. ``rfi_mask_bands`` holds the RFI bands a site imports (``rficat rfi mask
--import``), shown beside verdicts and usable as a filter.

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0009"
branch_labels = None
depends_on = None

DETECTION_COMMENT = (
    "How the snippets were cut: K^2 threshold, coarse-channel width, time bins and seconds per bin, "
    "window and stride (NULL threshold for observations ingested before it was recorded).")
DETECTION_COMMENT_NOW = DETECTION_COMMENT[:-2] + (
    "); NULL while rficat has not detected on the file (only hits kept by `rficat vet --store`: the next "
    "ingest of the file detects into this observation).")


def upgrade() -> None:
    op.add_column("snippets", sa.Column(
        "detector", sa.Text,
        comment="What found the signal: NULL for rficat's own energy detection at ingest; turboseti, hyperseti or "
                "table for a hit of another pipeline's table kept by `rficat vet --store` (cut at the hit's "
                "track centre as ingest cuts)."))
    op.alter_column("observations", "detection", comment=DETECTION_COMMENT_NOW, existing_type=sa.dialects.postgresql.JSONB)
    op.create_table(
        "rfi_mask_bands",
        sa.Column("id", sa.BigInteger, primary_key=True, comment="Band id."),
        sa.Column("f_start_mhz", sa.Double, nullable=False, comment="Lowest frequency of the band, MHz."),
        sa.Column("f_stop_mhz", sa.Double, nullable=False, comment="Highest frequency of the band, MHz."),
        sa.Column("label", sa.Text, comment="What occupies the band, e.g. 'GPS L1' (from the imported file)."),
        sa.Column("notes", sa.Text, comment="Free notes from the imported file."),
        sa.Column("source", sa.Text, nullable=False,
                  comment="Name of the file the band was imported from; importing it again replaces its bands."),
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False,
                  comment="When the band was imported."),
        sa.CheckConstraint("f_start_mhz <= f_stop_mhz", name="ck_rfi_mask_bands_range"),
        comment="A site's own known-RFI frequency bands (`rficat rfi mask --import`), shown beside vetting "
                "verdicts and usable as a filter.",
    )
    op.create_index("ix_rfi_mask_bands_f_start_mhz", "rfi_mask_bands", ["f_start_mhz"])


def downgrade() -> None:
    op.drop_index("ix_rfi_mask_bands_f_start_mhz", table_name="rfi_mask_bands")
    op.drop_table("rfi_mask_bands")
    op.alter_column("observations", "detection", comment=DETECTION_COMMENT, existing_type=sa.dialects.postgresql.JSONB)
    op.drop_column("snippets", "detector")
