"""An OFF-scan signal on an event's own track, drifting much like it, is the event seen in an OFF scan.

Migration 0020 left an event judged RFI a candidate when an OFF scan shows its picture near its
track drifting otherwise (not a veto): its lookalikes may describe the RFI an ON-only signal sits
on. "Otherwise" meant: not within the event's drift tolerance. RFI in every scan whose drift is
measured a little otherwise in each (a wandering carrier, +0.04 Hz/s in one scan and -0.01 in the
next; a burst whose drift is hardly measured at all) then escaped twice: no veto, and the
exception undid the verdict. Now the exception needs another signal: one not on the event's
track (within 8 channels of where its drift puts it in that OFF scan), or one whose drift differs
from the event's by more than both tolerances together. On the 13 development sets of the
independent evaluation the candidate events that are neither ETI-like nor ON-only RFI (emitters
in every scan, RFI-dense regions) fall from 32 to 19, the ETI-like signals that remain candidates
stay 155 of 156; on the project's own generator (bench_cadence.py) RFI events 9 -> 7.
``p_off_on_track => false`` is the rule of 0020-0028.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-28
"""

from alembic import op

from rficat.store import sql

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

EVENTS_0028 = ("rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, "
               "double precision, integer, boolean, boolean, boolean, boolean, boolean, boolean, boolean, integer)")
EVENTS = EVENTS_0028[:-1] + ", boolean)"


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS_0028}")
    op.execute(sql.load("rficat_cadence_events", 29))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS}")
    op.execute(sql.load("rficat_cadence_events", 28))
