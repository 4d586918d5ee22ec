"""The catalogue: ingest, lookalike / cadence / template search, RFI classes and verdicts,
written over the store's SQL functions and the science layer."""
