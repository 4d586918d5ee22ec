"""An event's evidence is pooled over its ON appearances.

A cadence event is one signal seen in every ON scan; ``rficat_cadence_events`` judged it on one
snippet, its highest-SNR ON appearance. An emitter whose picture changes from scan to scan (a
random walk, a wobbling carrier, a burst on in some scans) had its lookalikes in reference
observations, drifting alike, behind another of its ON appearances: judged alone, each had one
piece of evidence or none, two are needed. Now the evidence against the event's other ON
appearances that drift like the judged one (within the larger of their two drift tolerances, so
the same signal, not a neighbour picked up near the track) is pooled with the judged one's; the
rule's minimums (``min_evidence`` lookalikes in ``min_observations`` reference observations) make
it ``likely_rfi``, and the explanation names the appearances the evidence came from. An event on
top of OFF-scan RFI stays a candidate as before (``p_local_rfi``). ``p_pool_evidence`` (appended,
default true; false: one snippet decides, as before).

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-27
"""

from alembic import op

from rficat.store import sql

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

EVENTS_0020 = ("rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, "
               "double precision, integer, boolean, boolean, boolean, boolean, boolean)")
EVENTS = EVENTS_0020[:-1] + ", boolean)"


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS_0020}")
    op.execute(sql.load("rficat_cadence_events", 23))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS}")
    op.execute(sql.load("rficat_cadence_events", 20))
