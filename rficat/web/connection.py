"""The viewer's database connections: read-only by construction, writable only for labels.

Every read connection is opened with ``default_transaction_read_only=on`` in its startup
options (the session level: no statement the viewer runs can write, whatever it is) and, where
the ``rficat_reader`` role exists and the login user may assume it, with ``role=rficat_reader``
too, so the session also lacks the privilege to write (a superuser, as in embedded mode, may
assume any role). Where the role is missing, or the login user is not a member, the viewer says
so in a log line and relies on the read-only session alone. The label form (``--allow-labels``)
gets a separate, ordinary connection that only ``rfi label``'s call uses.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rficat.store import db

log = logging.getLogger(__name__)

READER_ROLE = "rficat_reader"
# every session of the viewer: read-only, bounded, and with the search settings (db.SEARCH_SETTINGS)
READ_ONLY_OPTIONS = ("-c default_transaction_read_only=on -c statement_timeout=60000 "
                     + db.settings_options(db.SEARCH_SETTINGS))


def read_only_engine(url: str, role: str = READER_ROLE) -> tuple[Engine, str]:
    """An engine whose sessions are read-only and use ``role`` where possible; returns it and the
    role its sessions run as."""
    probe = db.make_engine(url, connect_args={"options": READ_ONLY_OPTIONS}, poolclass=sa.pool.NullPool)
    try:
        db.check_connection(probe)
        with probe.connect() as conn:
            user, usable = conn.execute(sa.text(
                "SELECT current_user, (SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles"
                " WHERE rolname = :r)"), {"r": role}).one()
    finally:
        probe.dispose()
    options = READ_ONLY_OPTIONS
    if usable:
        options += f" -c role={role}"
        session_role = role
    else:
        session_role = user
        why = "does not exist on this server" if usable is None else f"is not granted to {user}"
        log.warning("role %s %s: the viewer reads as %s, in read-only sessions (default_transaction_read_only), "
                    "so it still cannot write, but it can read whatever %s can; "
                    "create the role with `rficat db init` as a superuser, or GRANT %s TO %s", role, why, user, user,
                    role, user)
    return db.make_engine(url, connect_args={"options": options}, pool_size=8, max_overflow=4), session_role


def label_engine(url: str) -> Engine:
    """The one writable engine (only with --allow-labels): used for ``rfi label``'s call alone."""
    return db.make_engine(url, pool_size=1, max_overflow=1)
