"""The same emitter seen again: looked for where it is, and one sighting of a stationary signal is enough.

1. Besides a signal's k nearest bank snippets, ``rficat_classify`` examines the k most alike of the
   bank snippets at its own frequency (the same-emitter reach of 0021: half the drift span over the
   scan of the faster of the two + 128 channels) for evidence; class membership still comes from
   the k nearest alone. A drifting burst's random timing made bursts from elsewhere in the band
   nearer in picture than its own sightings in other observations, so drifting ON-only bursts
   seen in five background observations found one of them. On the independent evaluation set's
   development seeds no ETI-like signal has a drift-consistent snippet at its frequency at
   similarity >= 0.8 (one at 0.796), searched this way.
2. A stationary signal (drift within its tolerance of zero) seen again at its own frequency from
   another pointing is likely RFI on that one lookalike (the build's ``here_min_evidence``, 1):
   the same transmitter, which is what an ON/OFF veto means by one OFF-scan sighting. A
   technosignature drifts; drifting signals still need ``min_evidence`` lookalikes in
   ``min_observations`` observations.

Same rule as ``rficat.catalogue.verdicts``.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-28
"""

from alembic import op

from rficat.store import sql

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sql.load("rficat_classify", 25))


def downgrade() -> None:
    op.execute(sql.load("rficat_classify", 22))
