"""The science: energy detection, snippet normalisation, the encoder and the frequency embedding.

Pure functions over numpy arrays. Never imports the store, the catalogue, Prefect, the CLI or
a file-format library (h5py, blimpy); reads files only through ``rficat.io``.
"""
