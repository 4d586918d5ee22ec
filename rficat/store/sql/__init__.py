"""Versioned SQL objects: each view / function body lives once, as ``<name>/v<N>.sql``.

``N`` is the number of the migration that installs that body (``rficat_classify/v5.sql`` came
with migration 0005). Migrations never copy a body: they install their version with
``op.execute(sql.load("rficat_classify", 5))`` and restore the previous one on downgrade with
``sql.load("rficat_classify", 3)`` (Alembic's replaceable-objects recipe). A new behaviour is a
new file and a new migration; old files stay, so history replays from an empty database.
"""

from __future__ import annotations

from pathlib import Path

SQL_DIR = Path(__file__).resolve().parent


def load(name: str, version: int) -> str:
    """The SQL text of version ``version`` of object ``name``."""
    path = SQL_DIR / name / f"v{version}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no SQL object {name} v{version} ({path})")
    return path.read_text()


def versions(name: str) -> list[int]:
    """The versions of an object that exist, oldest first."""
    return sorted(int(p.stem[1:]) for p in (SQL_DIR / name).glob("v*.sql"))
