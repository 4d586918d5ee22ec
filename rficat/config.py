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
import re
import tempfile
import tomllib
import urllib.parse
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


def home_directory() -> Path:
    """``RFICAT_HOME``, else ``~/.rficat`` (not created here)."""
    return Path(os.environ.get("RFICAT_HOME") or DEFAULT_HOME).expanduser()


def load_settings() -> Settings:
    """Resolve settings from the environment and the optional config file."""
    home = home_directory()
    file_values = _read_config_file(home / "config.toml")

    def setting(variable: str, key: str) -> tuple[object, str]:
        """A value and where it came from, for error messages."""
        if os.environ.get(variable):
            return os.environ[variable], variable
        return file_values.get(key), f"{key} in {home / 'config.toml'}"

    url, url_source = setting("RFICAT_DATABASE_URL", "database_url")
    width, width_source = setting("RFICAT_COARSE_CHANNEL_WIDTH", "coarse_channel_width")
    try:
        width = int(width) if width else None
    except (TypeError, ValueError):
        raise RficatError(f"{width_source} is {width!r}; expected a number of fine channels") from None
    return Settings(
        home=home,
        database_url=normalise_database_url(str(url), url_source) if url else None,
        coarse_channel_width=width,
    )


def normalise_database_url(url: str, setting: str = "RFICAT_DATABASE_URL") -> str:
    """Make a libpq-style URL usable by SQLAlchemy with psycopg 3; anything but a PostgreSQL URL
    is refused with one line naming ``setting``."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not scheme or not rest:
        raise RficatError(f"{setting} {_redacted(url)!r} is not a URL; expected postgresql://user:password@host/database")
    if scheme.lower().startswith("postgres") and scheme.lower() not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise RficatError(f"{setting} names the driver {scheme.partition('+')[2]!r}; write postgresql://... "
                          "(rficat connects with psycopg 3)")
    if scheme.lower() not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise RficatError(f"{setting} is a {scheme} URL; rficat needs PostgreSQL with pgvector: "
                          "postgresql://user:password@host/database")
    try:
        urllib.parse.urlsplit(f"postgresql://{rest}").port  # noqa: B018 - parses the port
    except ValueError as exc:
        raise RficatError(f"{setting} {_redacted(url)!r} is not a valid URL ({exc})") from None
    return "postgresql+psycopg://" + rest


def _redacted(url: str) -> str:
    """A URL with any password replaced by ***, fit for an error message."""
    return re.sub(r"(^|//)([^/:@]*):[^@/]*@", r"\1\2:***@", url)


def ensure_home(settings: Settings) -> Path:
    """Create ``RFICAT_HOME`` or fail with one clear line. The write test uses a file of its own
    (workers sharing one home start together: a fixed probe name was removed under another's feet)."""
    home = settings.home
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=home, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise RficatError(
            f"RFICAT_HOME {home} is not a writable directory ({exc.strerror or exc})"
        ) from exc
    return home
