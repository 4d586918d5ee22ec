"""An event that drifts within its scans but not across them is likely RFI.

A transmitter at the target drifting steadily (Doppler: the Earth's rotation, the transmitter's
own acceleration) keeps drifting between scans: in the second and third ON scans it is where its
drift puts it. ``rficat_cadence_events`` let an ON appearance lie anywhere within a snippet window
(256 channels) of there, so RFI that starts each scan anew at the same frequency and drifts within
it (a chirping or random-walk carrier, a drifting burst: on the independent evaluation set, ON-only
RFI of these kinds left as candidates) passed as a drifting signal. The appearances' positions
(window centres, on the signal) lie within 1.3 channels of a line for each of the 150 ETI-like
signals of thirteen such sets seen in all three ON scans, a line whose slope lies within 0.032 Hz/s
of the drift measured in each scan (0.018 of the nearest). Now a candidate event with
two or more ON appearances drifting beyond their drift tolerance, whose appearances lie on one line
(each within 8 channels) whose slope none of those drifts matches (within its tolerance plus 8
channels over the ON scans' span), is ``likely_rfi``; the explanation says so and the evidence lists
the appearances. Not where an OFF scan shows its picture near its track (its ON appearances may be
that RFI's). The same line tells a drift better than one scan can: an event whose appearances stay
put across the cadence (slope within 8 channels over the ON span) pools the evidence against its
other ON appearances as a stationary signal's (from lookalikes anywhere), even when its judged
appearance came out drifting a little within its scan (a random walk's slope in one scan: judged
alone it took evidence only at its own frequency, and the pooling followed it).
``p_cadence_track`` (appended, default true; false: as before).

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-28
"""

from alembic import op

from rficat.store import sql

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

EVENTS_0023 = ("rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, "
               "double precision, integer, boolean, boolean, boolean, boolean, boolean, boolean)")
EVENTS = EVENTS_0023[:-1] + ", boolean)"


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS_0023}")
    op.execute(sql.load("rficat_cadence_events", 24))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS}")
    op.execute(sql.load("rficat_cadence_events", 23))
