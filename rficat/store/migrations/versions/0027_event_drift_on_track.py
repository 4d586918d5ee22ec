"""An event's drift comes from its ON appearances on its track, not from those found by similarity alone.

``rficat_cadence_events`` takes an ON scan's appearance from the signal on the event's track
(drifting like it, where its drift puts it), else from the most similar signal near there. The
event's drift -- which the OFF veto compares an OFF signal's with -- was that of the appearance
measured best among all of them. Where a faint drifting line crosses bright RFI, the RFI can be
the most similar picture in a scan where the line's own snippet is not on the track (its drift
measured a little worse than the track asks): then the RFI, measured best, gave the event its
drift, and its own twin in the OFF scans, drifting like that, vetoed the line. On the fourteenth
hold-out an ETI-like line drifting -0.91 Hz/s at SNR 11, starting on a comb of SNR 51, was lost
so. Now only the first ON scan's signal and appearances on the track give the event its drift.

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-28
"""

from alembic import op

from rficat.store import sql

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

EVENTS = ("rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, "
          "double precision, integer, boolean, boolean, boolean, boolean, boolean, boolean, boolean)")


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS}")
    op.execute(sql.load("rficat_cadence_events", 27))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS}")
    op.execute(sql.load("rficat_cadence_events", 24))
