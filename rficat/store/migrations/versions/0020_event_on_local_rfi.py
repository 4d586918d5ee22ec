"""A discovery on top of RFI stays a candidate: lookalikes of the RFI it sits on are not evidence against it.

A drifting ON-only signal that starts inside an RFI-dense region shares its 16x256 window with that
RFI, so its picture resembles the RFI, and the RFI's lookalikes in reference observations make the
verdict rule call the picture RFI. The cadence knows better: when an OFF scan shows a similar
picture near the event's track but drifting otherwise (so it did not veto the event), that picture
is the local RFI's, and the evidence says nothing of the ON-only track. ``rficat_cadence_events``
then leaves the event a candidate, says why and keeps the rule's words and evidence
(``p_local_rfi``, appended, default true; false: the rule of 0019).

Revision ID: 0020
Revises: 0016
Create Date: 2026-11-27
"""

from alembic import op

from rficat.store import sql

revision = "0020"
down_revision = "0016"
branch_labels = None
depends_on = None

EVENTS_0019 = ("rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, "
               "double precision, integer, boolean, boolean, boolean, boolean)")
EVENTS = EVENTS_0019[:-1] + ", boolean)"


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS_0019}")
    op.execute(sql.load("rficat_cadence_events", 20))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS}")
    op.execute(sql.load("rficat_cadence_events", 19))
