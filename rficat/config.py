"""Configuration in one place.

Precedence, highest first: environment variables, then ``$RFICAT_HOME/config.toml``, then
defaults. Settings are built by the entry point (CLI, flow, notebook) with
:func:`load_settings`, never at import time.

``config.toml`` keys (all optional)::

    database_url = "postgresql+psycopg://user:pass@host/db"   # external server; else embedded
    coarse_channel_width = 1048576                              # fine channels per coarse channel
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from rficat.errors import RficatError

DEFAULT_HOME = Path("~/.rficat")
EMBEDDED_DB_NAME = "rficat"


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one run."""

    home: Path
    database_url: str | None = None
    coarse_channel_width: int | None = None

    @property
    def pgdata(self) -> Path:
        """Data directory of the embedded PostgreSQL server."""
        return self.home / "pgdata"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def uses_embedded_db(self) -> bool:
        return self.database_url is None


def _read_config_file(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RficatError(f"{path}: cannot read config file: {exc}") from exc


def load_settings() -> Settings:
    """Resolve settings from the environment and the optional config file."""
    home = Path(os.environ.get("RFICAT_HOME") or DEFAULT_HOME).expanduser()
    file_values = _read_config_file(home / "config.toml")
    url = os.environ.get("RFICAT_DATABASE_URL") or file_values.get("database_url") or None
    width = os.environ.get("RFICAT_COARSE_CHANNEL_WIDTH") or file_values.get("coarse_channel_width")
    return Settings(
        home=home,
        database_url=normalise_database_url(url) if url else None,
        coarse_channel_width=int(width) if width else None,
    )


def normalise_database_url(url: str) -> str:
    """Make a libpq-style URL usable by SQLAlchemy with psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def ensure_home(settings: Settings) -> Path:
    """Create ``RFICAT_HOME`` or fail with one clear line."""
    home = settings.home
    try:
        home.mkdir(parents=True, exist_ok=True)
        probe = home / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise RficatError(
            f"RFICAT_HOME {home} is not a writable directory ({exc.strerror or exc})"
        ) from exc
    return home
