"""A drifting signal takes evidence only from the same emitter, at its frequency.

A narrow line drifting at a few tenths of a Hz/s is what a technosignature looks like; so is RFI
drifting alike anywhere else in the band. On three more seeds of the independent evaluation set,
5 of the 33 ETI-like signals reported were judged RFI on lookalikes 0.2-0.6 MHz away (a chirp, drifting
lorentzian carriers) that drifted within the tolerance of theirs. ``rficat_classify`` now counts
a lookalike of a drifting signal (drift beyond its tolerance of zero) only where their centres
lie within half the drift span over the scan (of the faster of the two) plus 128 channels: the
same emitter seen again, as drifting RFI is at its usual frequency. Stationary and poorly measured
signals (bursts, combs, wide boxes) take evidence from anywhere as before. A drifting signal
without evidence joins no class. Same rule as ``rficat.catalogue.verdicts``.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27
"""

from alembic import op

from rficat.store import sql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sql.load("rficat_classify", 21))


def downgrade() -> None:
    op.execute(sql.load("rficat_classify", 19))
