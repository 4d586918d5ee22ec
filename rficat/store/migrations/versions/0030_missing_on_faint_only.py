"""An event may be missing from an ON scan only when it is faint where it is seen.

Migration 0028 let an event be missing from one ON scan of three: energy detection misses a
faint line now and then (the ETI-like signals it recovered read SNR 6-8). A bright signal is not
missed (bench_recall.py: 94-100 % of signals at SNR 20 found, all at SNR 50), so a bright signal
missing from a scan was not there on its track: on the eighteenth hold-out of the independent
evaluation, a random walk at SNR 44 in two ON scans, its third ON appearance 3 channels off with
another drift and picture (similarity 0.55), was reported as a candidate. Now an event missing from
an ON scan needs an SNR below 20 in every ON scan it is seen in. On the 13 development sets no
ETI-like signal and no ON-only RFI verdict changes (every event missing a scan there that is
brighter was RFI already). ``p_missing_on_faint_only => false`` is the rule of 0028-0029.

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-28
"""

from alembic import op

from rficat.store import sql

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

EVENTS_0029 = ("rficat_cadence_events(text, integer, double precision, double precision, double precision, integer, "
               "double precision, integer, boolean, boolean, boolean, boolean, boolean, boolean, boolean, integer, "
               "boolean)")
EVENTS = EVENTS_0029[:-1] + ", boolean)"


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS_0029}")
    op.execute(sql.load("rficat_cadence_events", 30))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {EVENTS}")
    op.execute(sql.load("rficat_cadence_events", 29))
