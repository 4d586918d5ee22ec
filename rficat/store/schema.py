"""The catalogue schema as SQLAlchemy 2 typed models.

The database itself is only ever changed by Alembic migrations in ``rficat/store/migrations/``; these
models mirror the migrations so Python code gets typed access. Every column carries a
``comment`` (it becomes ``COMMENT ON`` in the migration) because notebook users read the
schema directly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Observation(Base):
    __tablename__ = "observations"
    __table_args__ = (
        CheckConstraint("status IN ('ingesting', 'complete', 'failed')", name="status"),
        CheckConstraint("fingerprint_kind IN ('xxh3-128', 'sampled-sha256')", name="fingerprint_kind"),
        {"comment": "One filterbank file (.fil or .h5) known to the catalogue."},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, comment="Observation id.")
    path: Mapped[str] = mapped_column(
        Text, index=True,
        comment="Absolute file path at ingest time; updated when the file is found again after its old path vanished.")
    fingerprint: Mapped[str] = mapped_column(
        Text, unique=True,
        comment="Content fingerprint: 'xxh3-128:<hex>' of every byte of the file (header included), or, for "
                "rows stored before whole-file hashing, 'sha256:<hex>' of sampled blocks (see fingerprint_kind); "
                "the same file is never ingested twice.",
    )
    fingerprint_kind: Mapped[str] = mapped_column(
        Text, server_default="xxh3-128",
        comment="How fingerprint was made: xxh3-128 (the whole file) or sampled-sha256 (sampled blocks, rows "
                "stored before whole-file hashing; replaced when ingest sees the file again).")
    file_size: Mapped[int | None] = mapped_column(
        BigInteger, comment="Size of the file in bytes when last seen (NULL: not recorded).")
    file_mtime_ns: Mapped[int | None] = mapped_column(
        BigInteger,
        comment="Modification time of the file when last seen, ns since the Unix epoch (st_mtime_ns); with path "
                "and file_size it finds the fingerprint of a file already seen without reading it.")
    source_name: Mapped[str | None] = mapped_column(Text, comment="Target name from the header (source_name).")
    telescope: Mapped[str | None] = mapped_column(Text, comment="Telescope name (from the header's telescope_id).")
    mjd_start: Mapped[float | None] = mapped_column(Double, comment="Start time, MJD (header tstart).")
    ra_deg: Mapped[float | None] = mapped_column(Double, comment="Right ascension of the pointing, degrees (header src_raj).")
    dec_deg: Mapped[float | None] = mapped_column(Double, comment="Declination of the pointing, degrees (header src_dej).")
    f_min_mhz: Mapped[float] = mapped_column(Double, comment="Lowest channel centre frequency, MHz.")
    f_max_mhz: Mapped[float] = mapped_column(Double, comment="Highest channel centre frequency, MHz.")
    fch1_mhz: Mapped[float] = mapped_column(Double, comment="Frequency of the first channel, MHz (header fch1).")
    foff_mhz: Mapped[float] = mapped_column(Double, comment="Channel width, MHz; negative when frequency decreases with channel index (header foff).")
    tsamp_s: Mapped[float] = mapped_column(Double, comment="Time resolution: seconds per integration (header tsamp).")
    n_channels: Mapped[int] = mapped_column(BigInteger, comment="Number of fine frequency channels.")
    n_integrations: Mapped[int] = mapped_column(Integer, comment="Number of time integrations.")
    n_coarse_channels: Mapped[int | None] = mapped_column(Integer, comment="Number of coarse channels the file was split into.")
    header: Mapped[dict[str, Any]] = mapped_column(JSONB, comment="The full file header as read.")
    detection: Mapped[dict[str, Any] | None] = mapped_column(
        JSONB, comment="How the snippets were cut: K^2 threshold, coarse-channel width, time bins and seconds per bin, "
                       "window and stride (NULL threshold for observations ingested before it was recorded); "
                       "NULL while rficat has not detected on the file (only hits kept by `rficat vet --store`: the "
                       "next ingest of the file detects into this observation).")
    status: Mapped[str] = mapped_column(
        Text, server_default="ingesting",
        comment="ingesting (not yet visible in search), complete, or failed.",
    )
    ingested_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), comment="When ingest completed."
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="When the row was created."
    )


class IngestFailure(Base):
    __tablename__ = "ingest_failures"
    __table_args__ = (
        {"comment": "Files that could not be ingested: the landing schedule retries one only when its size, "
                    "modification time or content changes. A later successful ingest removes the row."},
    )

    path: Mapped[str] = mapped_column(Text, primary_key=True, comment="Absolute path of the file that failed.")
    file_size: Mapped[int] = mapped_column(BigInteger, comment="Its size in bytes when it failed.")
    file_mtime_ns: Mapped[int] = mapped_column(
        BigInteger, comment="Its modification time when it failed, ns since the Unix epoch (st_mtime_ns).")
    fingerprint: Mapped[str | None] = mapped_column(Text, comment="Its fingerprint when it failed, if ingest got that far.")
    error: Mapped[str] = mapped_column(Text, comment="The one-line error.")
    attempts: Mapped[int] = mapped_column(Integer, server_default="1", comment="How many ingests of it failed.")
    failed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="When it last failed.")


class Cadence(Base):
    __tablename__ = "cadences"
    __table_args__ = ({"comment": "An ON/OFF observing cadence such as ABACAD."},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Cadence id.")
    name: Mapped[str] = mapped_column(Text, unique=True, comment="User-chosen cadence name.")
    pattern: Mapped[str] = mapped_column(Text, comment="Scan pattern, one letter per scan, e.g. ABACAD (A = ON target).")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="When the cadence was recorded."
    )


class CadenceMember(Base):
    __tablename__ = "cadence_members"
    __table_args__ = (
        UniqueConstraint("cadence_id", "observation_id", name="uq_cadence_members_observation"),
        CheckConstraint("role IN ('ON', 'OFF')", name="role"),
        {"comment": "The scans of a cadence, in order, with their ON/OFF role."},
    )

    cadence_id: Mapped[int] = mapped_column(
        ForeignKey("cadences.id", ondelete="CASCADE"), primary_key=True, comment="Cadence id."
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, comment="0-based scan position in the cadence.")
    observation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("observations.id", ondelete="CASCADE"), comment="Observation of this scan."
    )
    role: Mapped[str] = mapped_column(Text, comment="ON (target) or OFF (reference) scan.")


class Snippet(Base):
    __tablename__ = "snippets"
    __table_args__ = ({"comment": "A 16 x 256 spectrogram window found by energy detection (or a noise window kept for training)."},)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, comment="Snippet id.")
    observation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("observations.id", ondelete="CASCADE"), index=True, comment="Observation the snippet was cut from."
    )
    coarse_channel: Mapped[int] = mapped_column(Integer, comment="Coarse channel index within the file.")
    chan_start: Mapped[int] = mapped_column(BigInteger, comment="First fine channel (file index, inclusive).")
    chan_stop: Mapped[int] = mapped_column(BigInteger, comment="Last fine channel (file index, exclusive).")
    f_start_mhz: Mapped[float] = mapped_column(Double, comment="Frequency of chan_start, MHz.")
    f_stop_mhz: Mapped[float] = mapped_column(Double, comment="Frequency of the last channel, MHz.")
    f_center_mhz: Mapped[float] = mapped_column(Double, index=True, comment="Centre frequency of the window, MHz.")
    statistic: Mapped[float] = mapped_column(Double, comment="D'Agostino-Pearson normality statistic of the window (higher = less noise-like).")
    snr: Mapped[float | None] = mapped_column(Double, comment="Signal-to-noise estimate of the time-collapsed peak.")
    drift_rate_hz_s: Mapped[float | None] = mapped_column(Double, comment="Drift-rate estimate, Hz/s.")
    width_hz: Mapped[float | None] = mapped_column(
        Double, comment="Half-power width of the dedrifted, time-collapsed signal, Hz (at most the 256-channel "
                        "window); NULL for snippets stored before widths were measured."
    )
    drift_error_hz_s: Mapped[float | None] = mapped_column(
        Double, comment="Standard error of the drift rate, Hz/s (weighted line through each time bin's peak); NULL for "
                        "snippets stored before it was measured."
    )
    is_signal: Mapped[bool] = mapped_column(Boolean, comment="True for a detected signal window, false for a noise window.")
    dedrift_hz_s: Mapped[float] = mapped_column(
        Double, server_default=text("0"),
        comment="Drift removed from the snippet, Hz/s: each time bin shifted back along it, so a fast drifter "
                "(a track wider than the window) looks stationary and centred; 0 when the snippet is as observed. "
                "Compare drift_rate_hz_s, not only pictures."
    )
    detector: Mapped[str | None] = mapped_column(
        Text, comment="What found the signal: NULL for rficat's own energy detection at ingest; turboseti, hyperseti "
                      "or table for a hit of another pipeline's table kept by `rficat vet --store` (cut at the hit's "
                      "track centre as ingest cuts).")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="When the snippet was stored."
    )


class SnippetArrayPart(Base):
    __tablename__ = "snippet_array_parts"
    __table_args__ = (
        {"comment": "The array of each snippet as stored (read it as snippet_arrays.data = head || tail): 3,992 bytes "
                    "out of line (two TOAST chunks, four to a page) and the last 104 in the row, ~4.2 KiB a snippet."},
    )

    snippet_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("snippets.id", ondelete="CASCADE"), primary_key=True, comment="Snippet id.")
    head: Mapped[bytes] = mapped_column(
        LargeBinary, comment="The first 3,992 bytes of the array (STORAGE EXTERNAL: uncompressed, out of line).")
    tail: Mapped[bytes] = mapped_column(
        LargeBinary, comment="The rest of the array (104 bytes of a 16 x 256 uint8 array), in the row.")


class Model(Base):
    __tablename__ = "models"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_models_name_version"),
        Index("uq_models_current", "is_current", unique=True, postgresql_where=text("is_current")),
        {"comment": "An encoder model whose vectors are stored in embeddings."},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Model id.")
    name: Mapped[str] = mapped_column(Text, comment="Model name, e.g. default.")
    version: Mapped[int] = mapped_column(Integer, comment="Version number within the name.")
    latent_dim: Mapped[int] = mapped_column(
        Integer, CheckConstraint("latent_dim BETWEEN 1 AND 2000", name="latent_dim"),
        comment="Dimension of the latent (and frequency-embedded) vectors.",
    )
    fingerprint: Mapped[str] = mapped_column(Text, unique=True, comment="sha256 of the model weights.")
    is_current: Mapped[bool] = mapped_column(
        Boolean, server_default=false(), comment="True for the model searches use by default (at most one)."
    )
    training: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default="{}", comment="Training metadata: beta, data description, metrics, seed."
    )
    frequency_embedding: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{\"band_start_mhz\": 1000.0, \"chunk_mhz\": 1.0, \"n\": 10000.0, \"weight\": 1.0}'::jsonb"),
        comment="Frequency embedding added to this model's latent vectors to make freq_vector "
                "(band_start_mhz, chunk_mhz, n, weight); searches encode a query with the same one.")
    band_mhz: Mapped[float] = mapped_column(
        Double, server_default=text("100"),
        comment="Width of the frequency bands this model's vectors get their own HNSW indexes for, MHz "
                "(rficat_index_band); a search inside one band walks that band's graph.")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="When the model was registered."
    )


class Embedding(Base):
    __tablename__ = "embeddings"
    __table_args__ = (
        {"comment": "Vectors of each snippet under each model, partitioned: embeddings_pending (indexed = false: "
                    "new vectors, searched exactly) and embeddings_indexed, one partition per model (embeddings_m<id>) "
                    "with HNSW cosine indexes over all its vectors and per frequency band.",
         "postgresql_partition_by": "LIST (indexed)"},
    )

    snippet_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("snippets.id", ondelete="CASCADE"), primary_key=True, comment="Snippet id."
    )
    model_id: Mapped[int] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True, comment="Model id."
    )
    latent: Mapped[Any] = mapped_column(Vector(), comment="Encoder mean (morphology only).")
    freq_vector: Mapped[Any] = mapped_column(
        Vector(), comment="Latent vector plus the sinusoidal frequency embedding."
    )
    indexed: Mapped[bool] = mapped_column(
        Boolean, server_default=false(), primary_key=True,
        comment="True once the vector is in its model's HNSW indexes (partition embeddings_indexed); false while it "
                "waits in embeddings_pending for rficat_index_pending() (search scans those exactly).",
    )
    f_center_mhz: Mapped[float | None] = mapped_column(
        Double, comment="Centre frequency of the snippet, MHz (copied from snippets when the vector is indexed; may be "
                        "NULL while pending): the key of the per-band HNSW indexes.")


class TemplateSearch(Base):
    __tablename__ = "template_searches"
    __table_args__ = ({"comment": "A synthetic template (setigen) encoded and searched against the catalogue."},)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, comment="Template search id.")
    job: Mapped[str | None] = mapped_column(
        Text, comment="Name of the batch job (template-search flow run) that made it, if any."
    )
    template: Mapped[dict[str, Any]] = mapped_column(
        JSONB, comment="Template parameters: shape, drift_hz_s, width_hz, snr, f_center_mhz."
    )
    model_id: Mapped[int] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), comment="Model that encoded the template."
    )
    vector: Mapped[Any] = mapped_column(
        Vector(), comment="The template's vector (latent, or frequency-embedded when f_center_mhz was given)."
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="When the search ran."
    )


class TemplateMatch(Base):
    __tablename__ = "template_matches"
    __table_args__ = ({"comment": "The best matches of each template search, kept for later SQL."},)

    search_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("template_searches.id", ondelete="CASCADE"), primary_key=True,
        comment="Template search id.",
    )
    rank: Mapped[int] = mapped_column(Integer, primary_key=True, comment="1 for the best match.")
    snippet_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("snippets.id", ondelete="CASCADE"), comment="Matching snippet."
    )
    similarity: Mapped[float] = mapped_column(Double, comment="Cosine similarity to the template.")


class RfiBuild(Base):
    __tablename__ = "rfi_builds"
    __table_args__ = (
        Index("uq_rfi_builds_current", "is_current", unique=True, postgresql_where=text("is_current")),
        CheckConstraint("status IN ('building', 'complete', 'retired')", name="status"),
        CheckConstraint("NOT is_current OR status = 'complete'", name="current_complete"),
        {"comment": "One clustering of the catalogue into RFI morphology classes; builds are kept, one is current."},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, comment="Build id (a version of the RFI database).")
    model_id: Mapped[int] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), comment="Model whose latent vectors were clustered."
    )
    params: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default="{}", comment="Clustering parameters: min_cluster_size, sample size, seed, method."
    )
    n_sampled: Mapped[int] = mapped_column(Integer, comment="Snippets clustered (a sample of the catalogue).")
    n_classes: Mapped[int] = mapped_column(Integer, comment="Classes found.")
    n_assigned: Mapped[int] = mapped_column(
        BigInteger, server_default="0", comment="Snippets assigned to a class (known RFI) when the build was made."
    )
    seconds: Mapped[float | None] = mapped_column(Double, comment="Wall time of the build.")
    is_current: Mapped[bool] = mapped_column(
        Boolean, server_default=false(),
        comment="True for the build that searches, ingest and the views use (at most one).",
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="When the build was made."
    )
    status: Mapped[str] = mapped_column(
        Text, server_default="complete",
        comment="building (judging in batches; never current), complete, or retired (an earlier current build; "
                "its verdicts are purged, its classes and labels kept).",
    )
    judged_through: Mapped[int | None] = mapped_column(
        BigInteger,
        comment="Highest snippet id the build has judged so far (where an interrupted build resumes); NULL: none yet.",
    )
    n_judged: Mapped[int] = mapped_column(
        BigInteger, server_default="0", comment="Signal snippets the build has given a verdict so far."
    )


class RfiClass(Base):
    __tablename__ = "rfi_classes"
    __table_args__ = (
        {"comment": "An RFI morphology class: a cluster of lookalike snippets with its statistics and user label."},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, comment="Class id (unique across builds).")
    build_id: Mapped[int] = mapped_column(
        ForeignKey("rfi_builds.id", ondelete="CASCADE"), index=True, comment="Build the class belongs to."
    )
    label: Mapped[str | None] = mapped_column(
        Text, comment="User label, e.g. 'GPS L1 carrier' (kept across rebuilds when the class is matched)."
    )
    notes: Mapped[str | None] = mapped_column(Text, comment="User notes.")
    matched_from: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("rfi_classes.id", ondelete="SET NULL"),
        comment="The class of the previous build this one was matched to (its label was carried over).",
    )
    centroid: Mapped[Any] = mapped_column(Vector(), comment="Unit-length mean latent vector of the class.")
    radius: Mapped[float] = mapped_column(
        Double, comment="Cosine distance from the centroid within which a snippet belongs to the class "
                        "(a high quantile of its clustered members' distances; the build's params name it)."
    )
    drift_min_hz_s: Mapped[float | None] = mapped_column(
        Double, comment="Lowest drift rate a snippet may have to join the class, Hz/s (5th percentile of its "
                        "clustered members less the build's drift tolerance); NULL: no drift gate."
    )
    drift_max_hz_s: Mapped[float | None] = mapped_column(
        Double, comment="Highest drift rate a snippet may have to join the class, Hz/s (95th percentile of its "
                        "clustered members plus the build's drift tolerance); NULL: no drift gate."
    )
    exemplar_ids: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), comment="Snippets closest to the centroid, best first."
    )
    size: Mapped[int] = mapped_column(BigInteger, server_default="0", comment="Snippets assigned to the class.")
    n_observations: Mapped[int] = mapped_column(
        Integer, server_default="0", comment="Observations the class occurs in."
    )
    n_cadences: Mapped[int] = mapped_column(Integer, server_default="0", comment="Cadences the class occurs in.")
    f_min_mhz: Mapped[float | None] = mapped_column(Double, comment="Lowest centre frequency of its snippets, MHz.")
    f_max_mhz: Mapped[float | None] = mapped_column(Double, comment="Highest centre frequency of its snippets, MHz.")
    frequency_occupancy: Mapped[dict[str, Any] | None] = mapped_column(
        JSONB, comment='Histogram of its snippets\' centre frequencies: {"edges_mhz": [...], "counts": [...]}.'
    )
    drift_median_hz_s: Mapped[float | None] = mapped_column(
        Double, comment="Median drift rate of its snippets, Hz/s."
    )
    drift_iqr_hz_s: Mapped[float | None] = mapped_column(
        Double, comment="Interquartile range of the drift rates, Hz/s."
    )
    width_median_hz: Mapped[float | None] = mapped_column(
        Double, comment="Median half-power width of its snippets' signals, Hz."
    )
    snr_median: Mapped[float | None] = mapped_column(Double, comment="Median SNR of its snippets.")
    nn_distance: Mapped[float | None] = mapped_column(
        Double, comment="The class's own scale: a high quantile of its members' cosine distances to their nearest other "
                        "member; a snippet joins the class only as close as that to one of them (local density)."
    )
    n_reference: Mapped[int] = mapped_column(
        Integer, server_default="0",
        comment="Members seen in reference observations (OFF scans or observations outside any ON role) when "
                "the build was made.",
    )


class RfiAssignment(Base):
    __tablename__ = "rfi_assignments"
    __table_args__ = (
        CheckConstraint("verdict IN ('candidate', 'likely_rfi', 'known_rfi', 'unjudged')", name="verdict"),
        {"comment": "The verdict of each build on each signal snippet it judged, with its class by local density when "
                    "it has one. (Before 0011: only snippets inside a class radius.)"},
    )

    snippet_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("snippets.id", ondelete="CASCADE"), primary_key=True, comment="Snippet id."
    )
    build_id: Mapped[int] = mapped_column(
        ForeignKey("rfi_builds.id", ondelete="CASCADE"), primary_key=True, comment="Build id."
    )
    class_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("rfi_classes.id", ondelete="CASCADE"), index=True,
        comment="Class the snippet belongs to by local density (NULL: none).",
    )
    distance: Mapped[float | None] = mapped_column(
        Double, comment="Cosine distance to the nearest member of its class (NULL: no class; before 0011: to "
                        "the class centroid)."
    )
    verdict: Mapped[str] = mapped_column(
        Text, comment="candidate, likely_rfi, known_rfi or unjudged (rows before 0011: known_rfi)."
    )
    explanation: Mapped[str | None] = mapped_column(Text, comment="Why: the evidence, the drift tolerance, the class.")
    evidence_ids: Mapped[list[int] | None] = mapped_column(
        ARRAY(BigInteger),
        comment="The drift-consistent lookalikes in reference observations that the verdict rests on.",
    )
    drift_tolerance_hz_s: Mapped[float | None] = mapped_column(
        Double, comment="Drift tolerance used: one channel over the scan, or twice the drift error where larger, Hz/s."
    )


class RfiBank(Base):
    __tablename__ = "rfi_bank"
    __table_args__ = (
        {"comment": "What a build judges verdicts against: a bounded sample of its snippets (members of each class, "
                    "capped, and the sample's other reference snippets), searched in memory at ingest and by "
                    "rficat_classify."},
    )

    build_id: Mapped[int] = mapped_column(
        ForeignKey("rfi_builds.id", ondelete="CASCADE"), primary_key=True, comment="Build id."
    )
    snippet_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("snippets.id", ondelete="CASCADE"), primary_key=True, comment="Snippet id."
    )
    class_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("rfi_classes.id", ondelete="CASCADE"),
        comment="Its class (NULL: a reference snippet of no class, kept as evidence).",
    )
    observation_id: Mapped[int] = mapped_column(BigInteger, comment="Its observation.")
    f_center_mhz: Mapped[float] = mapped_column(Double, comment="Its centre frequency, MHz.")
    drift_rate_hz_s: Mapped[float | None] = mapped_column(Double, comment="Its drift rate, Hz/s.")
    drift_error_hz_s: Mapped[float | None] = mapped_column(Double, comment="Standard error of its drift rate, Hz/s.")
    latent: Mapped[Any] = mapped_column(Vector(), comment="Its latent vector (the build's model).")


class RfiMaskBand(Base):
    __tablename__ = "rfi_mask_bands"
    __table_args__ = (
        CheckConstraint("f_start_mhz <= f_stop_mhz", name="range"),
        Index("ix_rfi_mask_bands_f_start_mhz", "f_start_mhz"),
        {"comment": "A site's own known-RFI frequency bands (`rficat rfi mask --import`), shown beside vetting "
                    "verdicts and usable as a filter."},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, comment="Band id.")
    f_start_mhz: Mapped[float] = mapped_column(Double, comment="Lowest frequency of the band, MHz.")
    f_stop_mhz: Mapped[float] = mapped_column(Double, comment="Highest frequency of the band, MHz.")
    label: Mapped[str | None] = mapped_column(Text, comment="What occupies the band, e.g. 'GPS L1' (from the imported file).")
    notes: Mapped[str | None] = mapped_column(Text, comment="Free notes from the imported file.")
    source: Mapped[str] = mapped_column(
        Text, comment="Name of the file the band was imported from; importing it again replaces its bands.")
    imported_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="When the band was imported.")


class ModelWeights(Base):
    __tablename__ = "model_weights"
    __table_args__ = (
        {"comment": "Encoder weights of registered models, so that workers without the model's files can encode "
                    "(read once into $RFICAT_HOME/models/.catalogue)."},
    )

    model_id: Mapped[int] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), primary_key=True, comment="Model id.")
    encoder_weights: Mapped[bytes] = mapped_column(
        LargeBinary, comment="The model's encoder.weights.h5 file, byte for byte (its sha256 is models.fingerprint).")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, comment="The model's metadata.json.")
    stored_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), comment="When the weights were stored.")
