"""RFI verdicts need evidence: drift errors, a bounded bank of lookalikes, one verdict everywhere.

A snippet is RFI only when drift-consistent lookalikes of it were seen in OFF scans or in
observations outside any ON role, not because it falls inside a large class's radius
(issue 15). Snippets get the standard error of their drift (``drift_error_hz_s``, NULL for
snippets stored before it was measured: their tolerance is one channel over the scan). A build
keeps a bounded sample of snippets to judge against (``rfi_bank``: up to a few hundred members
of each class and the sample's other reference snippets), its classes their local scale
(``nn_distance``) and reference count, and every judged snippet its verdict, explanation and
evidence (``rfi_assignments``, whose class is now optional). ``rficat_classify`` returns the
verdict (its old calls still work), ``rficat_verdict`` judges a stored snippet, the cadence
search reports the same verdict, and ``snippet_verdicts`` lists them.

Revision ID: 0011
Revises: 0014
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import ARRAY

from rficat.store import sql

revision = "0011"
down_revision = "0014"
branch_labels = None
depends_on = None

CLASSIFY_0005 = "rficat_classify(vector, integer, double precision)"
CLASSIFY = ("rficat_classify(vector, integer, double precision, double precision, text, double precision, "
            "double precision, bigint, bigint, double precision, boolean, double precision, integer, integer)")
VERDICT = "rficat_verdict(bigint, integer, boolean, double precision, integer, integer)"
EVENTS_0004 = ("rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, "
               "double precision, integer)")
EVENTS = ("rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, "
          "double precision, integer, boolean, boolean)")


def upgrade() -> None:
    op.add_column("snippets", sa.Column(
        "drift_error_hz_s", sa.Double,
        comment="Standard error of the drift rate, Hz/s (weighted line through each time bin's peak); NULL for "
                "snippets stored before it was measured."))
    op.add_column("rfi_classes", sa.Column(
        "nn_distance", sa.Double,
        comment="The class's own scale: a high quantile of its members' cosine distances to their nearest other "
                "member; a snippet joins the class only as close as that to one of them (local density)."))
    op.add_column("rfi_classes", sa.Column(
        "n_reference", sa.Integer, nullable=False, server_default="0",
        comment="Members seen in reference observations (OFF scans or observations outside any ON role) when "
                "the build was made."))
    op.create_table(
        "rfi_bank",
        sa.Column("build_id", sa.Integer, sa.ForeignKey("rfi_builds.id", ondelete="CASCADE"), primary_key=True,
                  comment="Build id."),
        sa.Column("snippet_id", sa.BigInteger, sa.ForeignKey("snippets.id", ondelete="CASCADE"), primary_key=True,
                  comment="Snippet id."),
        sa.Column("class_id", sa.BigInteger, sa.ForeignKey("rfi_classes.id", ondelete="CASCADE"),
                  comment="Its class (NULL: a reference snippet of no class, kept as evidence)."),
        sa.Column("observation_id", sa.BigInteger, nullable=False, comment="Its observation."),
        sa.Column("f_center_mhz", sa.Double, nullable=False, comment="Its centre frequency, MHz."),
        sa.Column("drift_rate_hz_s", sa.Double, comment="Its drift rate, Hz/s."),
        sa.Column("drift_error_hz_s", sa.Double, comment="Standard error of its drift rate, Hz/s."),
        sa.Column("latent", Vector(), nullable=False, comment="Its latent vector (the build's model)."),
        comment="What a build judges verdicts against: a bounded sample of its snippets (members of each class, "
                "capped, and the sample's other reference snippets), searched in memory at ingest and by "
                "rficat_classify.",
    )
    op.alter_column("rfi_assignments", "class_id", nullable=True,
                    comment="Class the snippet belongs to by local density (NULL: none).")
    op.alter_column("rfi_assignments", "distance", nullable=True,
                    comment="Cosine distance to the nearest member of its class (NULL: no class; before 0011: to "
                            "the class centroid).")
    op.add_column("rfi_assignments", sa.Column(
        "verdict", sa.Text, nullable=False, server_default="known_rfi",
        comment="candidate, likely_rfi, known_rfi or unjudged (rows before 0011: known_rfi)."))
    op.add_column("rfi_assignments", sa.Column(
        "explanation", sa.Text, comment="Why: the evidence, the drift tolerance, the class."))
    op.add_column("rfi_assignments", sa.Column(
        "evidence_ids", ARRAY(sa.BigInteger),
        comment="The drift-consistent lookalikes in reference observations that the verdict rests on."))
    op.add_column("rfi_assignments", sa.Column(
        "drift_tolerance_hz_s", sa.Double, comment="Drift tolerance used: one channel over the scan, or twice "
                                                   "the drift error where larger, Hz/s."))
    op.execute("ALTER TABLE rfi_assignments ALTER COLUMN verdict DROP DEFAULT")
    op.create_check_constraint("ck_rfi_assignments_verdict", "rfi_assignments",
                               "verdict IN ('candidate', 'likely_rfi', 'known_rfi', 'unjudged')")
    op.execute("COMMENT ON TABLE rfi_assignments IS 'The verdict of each build on each signal snippet it judged, "
               "with its class by local density when it has one. (Before 0011: only snippets inside a class radius.)'")
    op.execute("DROP VIEW snippet_rfi")
    op.execute(sql.load("snippet_rfi", 11))
    op.execute(sql.load("snippet_verdicts", 11))
    op.execute("DROP VIEW rfi_class_summary")
    op.execute(sql.load("rfi_class_summary", 11))
    op.execute(f"DROP FUNCTION {CLASSIFY_0005}")
    op.execute(sql.load("rficat_classify", 11))
    op.execute(sql.load("rficat_verdict", 11))
    op.execute(sql.load("rficat_assign_rfi", 11))
    op.execute(f"DROP FUNCTION {EVENTS_0004}")
    op.execute(sql.load("rficat_cadence_events", 11))


def downgrade() -> None:
    # relies on: rficat_cadence_events v4, rficat_assign_rfi v5, rficat_classify v5, rfi_class_summary v6, snippet_rfi v3
    op.execute(f"DROP FUNCTION {EVENTS}")
    op.execute(sql.load("rficat_cadence_events", 4))
    op.execute(sql.load("rficat_assign_rfi", 5))
    op.execute(f"DROP FUNCTION {VERDICT}")
    op.execute(f"DROP FUNCTION {CLASSIFY}")
    op.execute(sql.load("rficat_classify", 5))
    op.execute("DROP VIEW rfi_class_summary")
    op.execute(sql.load("rfi_class_summary", 6))
    op.execute("DROP VIEW snippet_verdicts")
    op.execute("DROP VIEW snippet_rfi")
    op.execute("DELETE FROM rfi_assignments WHERE class_id IS NULL OR verdict NOT IN ('likely_rfi', 'known_rfi')")
    op.drop_constraint("ck_rfi_assignments_verdict", "rfi_assignments", type_="check")
    for column in ("drift_tolerance_hz_s", "evidence_ids", "explanation", "verdict"):
        op.drop_column("rfi_assignments", column)
    op.execute("UPDATE rfi_assignments SET distance = 0 WHERE distance IS NULL")
    op.alter_column("rfi_assignments", "distance", nullable=False,
                    comment="Cosine distance of the snippet's latent vector to the class centroid.")
    op.alter_column("rfi_assignments", "class_id", nullable=False, comment="Class the snippet belongs to.")
    op.execute("COMMENT ON TABLE rfi_assignments IS 'Snippet -> RFI class, per build. Snippets outside every class "
               "radius have no row (not known RFI).'")
    op.execute(sql.load("snippet_rfi", 3))
    op.drop_table("rfi_bank")
    op.drop_column("rfi_classes", "n_reference")
    op.drop_column("rfi_classes", "nn_distance")
    op.drop_column("snippets", "drift_error_hz_s")
