"""A class member's drift must be known about as well as the class's: at most twice as loosely.

A class is a morphology together with its drift mode. Membership asked that the class members
near a signal drift like it, within the signal's tolerance (one channel over the scan, or twice
its drift's error), and that their drifts be known that well; it never asked the reverse. A chirp
or a random walk, whose drift error widens with how much its path wanders (since the eleventh session),
then had a tolerance of +-0.1-0.4 Hz/s that any stationary class satisfied, and one class per
evaluation set gathered stationary narrowband kinds of several morphologies. Now the signal's own
tolerance must be at most the build's ``class_tolerance_ratio`` (2) times the median tolerance of
those members. On the thirteen development sets of the independent evaluation set the mean class
ARI rose 0.681 -> 0.724, with the same ON-only RFI marked and ETI-like signals kept. Same rule as
``rficat.catalogue.verdicts``.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-28
"""

from alembic import op

from rficat.store import sql

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sql.load("rficat_classify", 26))


def downgrade() -> None:
    op.execute(sql.load("rficat_classify", 25))
