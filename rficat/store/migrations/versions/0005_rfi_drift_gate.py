"""RFI classes gate on drift rate: a snippet joins a class only if its drift lies in the class's range.

The latent space does not keep a drifting carrier apart from a stationary one reliably enough
for a technosignature search, which must never flag a drifting signal as known stationary RFI.
Each class now stores the drift range of its clustered members (widened by the build's
tolerance); assignment and ``rficat_classify`` take the nearest class whose range admits the
snippet's drift. Classes of earlier builds have no range and do not gate.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from rficat.store import sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.add_column("rfi_classes", sa.Column(
        "drift_min_hz_s", sa.Double,
        comment="Lowest drift rate a snippet may have to join the class, Hz/s (5th percentile of its clustered "
                "members less the build's drift tolerance); NULL: no drift gate."))
    op.add_column("rfi_classes", sa.Column(
        "drift_max_hz_s", sa.Double,
        comment="Highest drift rate a snippet may have to join the class, Hz/s (95th percentile of its clustered "
                "members plus the build's drift tolerance); NULL: no drift gate."))
    op.execute("COMMENT ON COLUMN rfi_classes.radius IS 'Cosine distance from the centroid within which a snippet "
               "belongs to the class (a high quantile of its clustered members'' distances; the build''s params "
               "name it).'")
    op.execute(sql.load("rfi_class_summary", 5))
    op.execute("DROP FUNCTION rficat_classify(vector, integer)")
    op.execute(sql.load("rficat_classify", 5))
    op.execute(sql.load("rficat_assign_rfi", 5))


def downgrade() -> None:
    op.execute(sql.load("rficat_assign_rfi", 3))
    op.execute("DROP FUNCTION rficat_classify(vector, integer, double precision)")
    op.execute(sql.load("rficat_classify", 3))
    op.execute("DROP VIEW rfi_class_summary")
    op.execute(sql.load("rfi_class_summary", 3))
    op.drop_column("rfi_classes", "drift_max_hz_s")
    op.drop_column("rfi_classes", "drift_min_hz_s")
