"""Fast drifters: the drift removed from a snippet.

Tracks that cross more than a window over the scan (beyond ~2.4 Hz/s at GBT's resolution) are
found by a dedoppler pass and cut dedrifted: each time bin shifted back along the drift, so
the picture stands still on the window's centre. ``dedrift_hz_s`` records that drift (0 for a
snippet as observed, which every snippet stored before this revision is); the true drift stays
in ``drift_rate_hz_s``.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("snippets", sa.Column(
        "dedrift_hz_s", sa.Double, nullable=False, server_default=sa.text("0"),
        comment="Drift removed from the snippet, Hz/s: each time bin shifted back along it, so a fast drifter "
                "(a track wider than the window) looks stationary and centred; 0 when the snippet is as observed. "
                "Compare drift_rate_hz_s, not only pictures."))


def downgrade() -> None:
    op.drop_column("snippets", "dedrift_hz_s")
