"""An event that stays put across the cadence is likely RFI: it does not drift relative to the telescope.

A transmitter at the target drifts with the rotation of the Earth and of its own planet, so
its signal moves between the ON scans; RFI from the ground does not (turboSETI's
``find_events`` drops zero-drift hits unless ``check_zero_drift`` is set). Migration 0024 judged an
event that drifts *within* its scans but not across them; a stationary ON-only signal (a pulsed
carrier, a random walk or a wobble around one frequency, whose drift within a scan is poorly
measured) stayed a candidate. Now a candidate event whose ON appearances, one per ON scan, lie
on one line (each within 8 channels) moving at most 8 channels over the ON span (0.019 Hz/s at
GBT's resolution over three ON scans) is ``likely_rfi``, with the appearances as evidence.

On the 13 development sets of the independent evaluation, ON-only RFI marked rose from 124 to
129 of 130 and other candidate events fell from 19 to 6; no ETI-like signal (they drift
0.05-1 Hz/s, 21 channels or more over the span) changed. ``p_zero_drift => false`` is the rule
of 0030.

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-28
"""

from alembic import op

from rficat.store import sql

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

EVENTS_0030 = ("rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, "
               "double precision, integer, boolean, boolean, boolean, boolean, boolean, boolean, boolean, integer, "
               "boolean, boolean)")
EVENTS = EVENTS_0030[:-1] + ", boolean)"


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS_0030}")
    op.execute(sql.load("rficat_cadence_events", 31))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS}")
    op.execute(sql.load("rficat_cadence_events", 30))
