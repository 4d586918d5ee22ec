"""The OFF veto of cadence search needs the same kind of signal: one that drifts like the event.

``rficat_cadence_events`` lets an OFF-scan signal veto an ON event only when, besides being
similar and near the track's expected frequency, its drift rate is consistent with the event's
within the verdict rule's tolerance (one channel over the scan, or 2 x the drift's standard
error where larger): RFI of another drift in an RFI-dense region no longer hides a discovery.
The event's drift is that of its best-measured ON appearance. An ON scan's appearance is the
signal on the event's track (drifting like it, where its drift puts it) whatever its similarity,
else the most similar one near there: faint tracks, mutually less similar, are still found.
``p_off_drift_consistent`` and ``p_on_track`` (appended, default true; false: the rules before 0019).

The tolerance lives once in SQL, ``rficat_drift_tolerance`` (the twin of
``rficat.catalogue.verdicts.tolerance``); ``rficat_classify`` now calls it instead of its own copy.

Revision ID: 0019
Revises: 0015
Create Date: 2026-11-27
"""

from alembic import op

from rficat.store import sql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

EVENTS_0011 = ("rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, "
               "double precision, integer, boolean, boolean)")
EVENTS = EVENTS_0011[:-1] + ", boolean, boolean)"
TOLERANCE = "rficat_drift_tolerance(double precision, double precision, double precision)"


def upgrade() -> None:
    op.execute(sql.load("rficat_drift_tolerance", 19))
    op.execute(sql.load("rficat_classify", 19))
    op.execute(f"DROP FUNCTION {EVENTS_0011}")
    op.execute(sql.load("rficat_cadence_events", 19))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS}")
    op.execute(sql.load("rficat_cadence_events", 11))
    op.execute(sql.load("rficat_classify", 15))
    op.execute(f"DROP FUNCTION {TOLERANCE}")
