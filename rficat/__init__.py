"""rficat: a PostgreSQL + pgvector catalogue of radio-frequency-interference lookalikes."""

__version__ = "0.1.0"
