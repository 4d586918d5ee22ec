"""RFI database: versioned morphology-class builds, classes, snippet assignments.

(Created before the search functions of 0004, which filter on known RFI.)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from rficat.store import sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NOW = sa.text("now()")

def upgrade() -> None:
    op.create_table(
        "rfi_builds",
        sa.Column("id", sa.Integer, primary_key=True, comment="Build id (a version of the RFI database)."),
        sa.Column("model_id", sa.Integer, sa.ForeignKey("models.id", ondelete="CASCADE"), nullable=False, comment="Model whose latent vectors were clustered."),
        sa.Column("params", JSONB, nullable=False, server_default="{}", comment="Clustering parameters: min_cluster_size, sample size, seed, method."),
        sa.Column("n_sampled", sa.Integer, nullable=False, comment="Snippets clustered (a sample of the catalogue)."),
        sa.Column("n_classes", sa.Integer, nullable=False, comment="Classes found."),
        sa.Column("n_assigned", sa.BigInteger, nullable=False, server_default="0", comment="Snippets assigned to a class (known RFI) when the build was made."),
        sa.Column("seconds", sa.Double, comment="Wall time of the build."),
        sa.Column("is_current", sa.Boolean, nullable=False, server_default=sa.false(), comment="True for the build that searches, ingest and the views use (at most one)."),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW, comment="When the build was made."),
        comment="One clustering of the catalogue into RFI morphology classes; builds are kept, one is current.",
    )
    op.create_index("uq_rfi_builds_current", "rfi_builds", ["is_current"], unique=True, postgresql_where=sa.text("is_current"))
    op.create_table(
        "rfi_classes",
        sa.Column("id", sa.BigInteger, primary_key=True, comment="Class id (unique across builds)."),
        sa.Column("build_id", sa.Integer, sa.ForeignKey("rfi_builds.id", ondelete="CASCADE"), nullable=False, comment="Build the class belongs to."),
        sa.Column("label", sa.Text, comment="User label, e.g. 'GPS L1 carrier' (kept across rebuilds when the class is matched)."),
        sa.Column("notes", sa.Text, comment="User notes."),
        sa.Column("matched_from", sa.BigInteger, sa.ForeignKey("rfi_classes.id", ondelete="SET NULL"), comment="The class of the previous build this one was matched to (its label was carried over)."),
        sa.Column("centroid", Vector(), nullable=False, comment="Unit-length mean latent vector of the class."),
        sa.Column("radius", sa.Double, nullable=False, comment="Cosine distance from the centroid within which a snippet belongs to the class (90th percentile of its clustered members)."),
        sa.Column("exemplar_ids", ARRAY(sa.BigInteger), nullable=False, comment="Snippets closest to the centroid, best first."),
        sa.Column("size", sa.BigInteger, nullable=False, server_default="0", comment="Snippets assigned to the class."),
        sa.Column("n_observations", sa.Integer, nullable=False, server_default="0", comment="Observations the class occurs in."),
        sa.Column("n_cadences", sa.Integer, nullable=False, server_default="0", comment="Cadences the class occurs in."),
        sa.Column("f_min_mhz", sa.Double, comment="Lowest centre frequency of its snippets, MHz."),
        sa.Column("f_max_mhz", sa.Double, comment="Highest centre frequency of its snippets, MHz."),
        sa.Column("frequency_occupancy", JSONB, comment="Histogram of its snippets' centre frequencies: {\"edges_mhz\": [...], \"counts\": [...]}."),
        sa.Column("drift_median_hz_s", sa.Double, comment="Median drift rate of its snippets, Hz/s."),
        sa.Column("drift_iqr_hz_s", sa.Double, comment="Interquartile range of the drift rates, Hz/s."),
        sa.Column("snr_median", sa.Double, comment="Median SNR of its snippets."),
        comment="An RFI morphology class: a cluster of lookalike snippets with its statistics and user label.",
    )
    op.create_index("ix_rfi_classes_build_id", "rfi_classes", ["build_id"])
    op.create_table(
        "rfi_assignments",
        sa.Column("snippet_id", sa.BigInteger, sa.ForeignKey("snippets.id", ondelete="CASCADE"), primary_key=True, comment="Snippet id."),
        sa.Column("build_id", sa.Integer, sa.ForeignKey("rfi_builds.id", ondelete="CASCADE"), primary_key=True, comment="Build id."),
        sa.Column("class_id", sa.BigInteger, sa.ForeignKey("rfi_classes.id", ondelete="CASCADE"), nullable=False, comment="Class the snippet belongs to."),
        sa.Column("distance", sa.Double, nullable=False, comment="Cosine distance of the snippet's latent vector to the class centroid."),
        comment="Snippet -> RFI class, per build. Snippets outside every class radius have no row (not known RFI).",
    )
    op.create_index("ix_rfi_assignments_class_id", "rfi_assignments", ["class_id"])
    for name in ("rfi_class_summary", "snippet_rfi", "rficat_classify", "rficat_assign_rfi"):
        op.execute(sql.load(name, 3))


def downgrade() -> None:
    op.execute("DROP FUNCTION rficat_assign_rfi(bigint)")
    op.execute("DROP FUNCTION rficat_classify(vector, integer)")
    op.execute("DROP VIEW snippet_rfi")
    op.execute("DROP VIEW rfi_class_summary")
    op.drop_table("rfi_assignments")
    op.drop_table("rfi_classes")
    op.drop_index("uq_rfi_builds_current", table_name="rfi_builds")
    op.drop_table("rfi_builds")
