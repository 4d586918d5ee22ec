"""Synthetic data built on setigen: whole observations (``synth``) and snippet-level
morphology families for training (``corpus``). Files are written through ``rficat.io``."""
