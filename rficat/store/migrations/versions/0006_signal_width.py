"""Signal width: each snippet's half-power bandwidth, its class median, in the views.

Width tells a 3 Hz carrier from a 500 Hz broadband burst at a glance, and the RFI database
summarises its classes by drift, width and SNR. Snippets stored before this revision keep a
NULL width (the stored arrays are normalised, so it cannot be measured again from them).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from rficat.store import sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.add_column("snippets", sa.Column(
        "width_hz", sa.Double,
        comment="Half-power width of the dedrifted, time-collapsed signal, Hz (at most the 256-channel window); "
                "NULL for snippets stored before widths were measured."))
    op.add_column("rfi_classes", sa.Column(
        "width_median_hz", sa.Double, comment="Median half-power width of its snippets' signals, Hz."))
    for name in ("snippet_catalogue", "rfi_class_summary", "rficat_current_model"):
        op.execute(sql.load(name, 6))


def downgrade() -> None:
    op.execute("DROP VIEW rfi_class_summary")
    op.execute(sql.load("rfi_class_summary", 5))
    op.execute("DROP VIEW snippet_catalogue")
    op.execute(sql.load("snippet_catalogue", 4))
    op.execute(sql.load("rficat_current_model", 4))
    op.drop_column("rfi_classes", "width_median_hz")
    op.drop_column("snippets", "width_hz")
