"""The store: PostgreSQL + pgvector (embedded server or an external URL), the schema and its
migrations, versioned SQL objects (``sql/``), the model registry and binary COPY."""
