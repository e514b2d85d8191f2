"""The store's schema, as an ordered list of migrations.

A store file records the migrations applied to it in ``schema_version``. Opening a store applies
the missing ones, in order, in one transaction: a file is either fully on the new schema or left
as it was. Migrations are append-only: once released, a migration's SQL never changes (files in
the field were built with it); a change is a new migration at the end.

Conventions the SQL follows:

* Every timestamp is ``TIMESTAMP`` in UTC. (``TIMESTAMPTZ`` would make every read depend on the
  reader's session time zone.)
* ``fields``, ``extra``, ``images`` and ``detail`` are ``JSON``: analysts query them with DuckDB's
  ``->>`` operators, and unknown input fields stay verbatim.
* Few indexes: DuckDB scans columns fast and every index costs memory and insert time. The keys the
  input contract needs to be unique carry one (ads, ad_images, images, quarantine).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from threadline.store._tx import transaction

__all__ = [
    "EXTRACTION_ROW",
    "LATEST_VERSION",
    "LONG_TEXT_BYTES",
    "MIGRATIONS",
    "PARTED",
    "PART_CHARS",
    "ROW_LAYOUTS",
    "Migration",
    "SchemaTooNewError",
    "ads_insert",
    "by_id",
    "current_version",
    "insert_row",
    "insert_sql",
    "migrate",
    "text_parts",
    "utc_now",
]


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


class SchemaTooNewError(RuntimeError):
    """The file was written by a newer Threadline; an older one must not guess at its schema."""


_INITIAL = (
    """
    CREATE TABLE ads (
        source       VARCHAR   NOT NULL,
        id           VARCHAR   NOT NULL,
        version      INTEGER   NOT NULL,  -- 1, 2, ... in the order changed content arrived
        content_hash VARCHAR   NOT NULL,  -- SHA-256 of the canonical contract fields (hex)
        title        VARCHAR   NOT NULL,
        body         VARCHAR   NOT NULL,
        url          VARCHAR,
        posted_at    TIMESTAMP,           -- UTC
        captured_at  TIMESTAMP,           -- UTC
        location     VARCHAR,
        images       JSON      NOT NULL,  -- list of absolute paths, as in `Ad.images`
        fields       JSON      NOT NULL,  -- object of strings
        extra        JSON      NOT NULL,  -- unknown input fields, verbatim
        region       VARCHAR,             -- default phone region the extraction used
        file         VARCHAR   NOT NULL,  -- input file (absolute) and line the version came from
        line         INTEGER   NOT NULL,
        run_id       BIGINT,              -- ingest_runs.id
        ingested_at  TIMESTAMP NOT NULL,
        PRIMARY KEY (source, id, version)
    )
    """,
    """
    CREATE TABLE extractions (
        source      VARCHAR NOT NULL,
        ad_id       VARCHAR NOT NULL,
        version     INTEGER NOT NULL,
        found_index INTEGER NOT NULL,  -- position of the value in `Extraction.found`
        span_index  INTEGER NOT NULL,  -- position of the span in `Found.spans`
        kind        VARCHAR NOT NULL,
        value       VARCHAR NOT NULL,
        field       VARCHAR,           -- NULL only for a value found without a span
        span_start  INTEGER,
        span_end    INTEGER,
        detail      JSON    NOT NULL
    )
    """,
    """
    CREATE TABLE images (
        sha256      VARCHAR PRIMARY KEY,
        pdq         VARCHAR,  -- 256-bit PDQ hash, hex
        pdq_quality INTEGER,
        phash       VARCHAR,  -- 64-bit DCT hash, hex
        width       INTEGER,
        height      INTEGER
    )
    """,
    """
    CREATE TABLE ad_images (
        source   VARCHAR NOT NULL,
        ad_id    VARCHAR NOT NULL,
        version  INTEGER NOT NULL,
        position INTEGER NOT NULL,
        path     VARCHAR NOT NULL,
        sha256   VARCHAR NOT NULL,
        PRIMARY KEY (source, ad_id, version, position)
    )
    """,
    """
    CREATE TABLE quarantine (
        file           VARCHAR   NOT NULL,
        line           INTEGER   NOT NULL,
        reason         VARCHAR   NOT NULL,
        raw            VARCHAR   NOT NULL,  -- first 4 KB of the record as read
        quarantined_at TIMESTAMP NOT NULL,
        run_id         BIGINT,
        UNIQUE (file, line, reason)
    )
    """,
    "CREATE SEQUENCE ingest_run_ids START 1",
    """
    CREATE TABLE ingest_runs (
        id           BIGINT PRIMARY KEY DEFAULT nextval('ingest_run_ids'),
        file         VARCHAR   NOT NULL,
        started      TIMESTAMP NOT NULL,
        finished     TIMESTAMP,  -- NULL: killed, or still running
        read         BIGINT,
        new_ads      BIGINT,
        new_versions BIGINT,
        unchanged    BIGINT,
        quarantined  BIGINT
    )
    """,
)

# The view analysts ask for first: the current state of every ad. (Deleted ads are not marked
# yet: a deletion is only visible as an ad that stops being re-crawled.)
_LATEST_ADS = (
    """
    CREATE VIEW latest_ads AS
    SELECT * FROM ads
    QUALIFY version = max(version) OVER (PARTITION BY source, id)
    """,
)

# Linking: stable keys for ads, analysts' decisions, and the results of the last link run.
_LINKING = (
    """
    CREATE TABLE ad_keys (
        source VARCHAR NOT NULL,
        id     VARCHAR NOT NULL,
        ad_key BIGINT  NOT NULL PRIMARY KEY,  -- 1, 2, ... in the order ads were first ingested
        UNIQUE (source, id)
    )
    """,
    """
    CREATE TABLE hub_marks (
        kind      VARCHAR   NOT NULL,  -- phone, email, handle, image
        value     VARCHAR   NOT NULL,
        is_hub    BOOLEAN   NOT NULL,  -- the analyst's word overrides what the data says
        analyst   VARCHAR   NOT NULL,
        note      VARCHAR,
        marked_at TIMESTAMP NOT NULL,
        PRIMARY KEY (kind, value)
    )
    """,
    """
    CREATE TABLE link_decisions (
        decision   VARCHAR   NOT NULL,  -- 'merge' (these ads belong together)
        source_a   VARCHAR   NOT NULL,
        id_a       VARCHAR   NOT NULL,
        source_b   VARCHAR   NOT NULL,
        id_b       VARCHAR   NOT NULL,
        analyst    VARCHAR   NOT NULL,
        note       VARCHAR,
        decided_at TIMESTAMP NOT NULL
    )
    """,
    """
    CREATE TABLE ad_links (
        ad_key  BIGINT  NOT NULL PRIMARY KEY,
        source  VARCHAR NOT NULL,
        id      VARCHAR NOT NULL,
        version INTEGER NOT NULL,  -- the version of the ad this link run saw
        network VARCHAR NOT NULL,  -- 'N' + the first ad_key of the network: stable while it grows
        person  VARCHAR NOT NULL   -- 'P' + the first ad_key of the person
    )
    """,
    """
    CREATE TABLE link_hubs (
        kind      VARCHAR NOT NULL,
        value     VARCHAR NOT NULL,
        ads       BIGINT  NOT NULL,
        co_phones BIGINT  NOT NULL,  -- other phone numbers seen in the ads that carry it
        names     BIGINT  NOT NULL,  -- self-stated names seen in those ads
        detected  BOOLEAN NOT NULL,  -- what the data says
        is_hub    BOOLEAN NOT NULL,  -- what linking used (an analyst's mark wins)
        marked_by VARCHAR,
        PRIMARY KEY (kind, value)
    )
    """,
    """
    CREATE TABLE link_evidence (
        network  VARCHAR NOT NULL,
        kind     VARCHAR NOT NULL,  -- phone, email, handle, image, similar_image, analyst_merge
        value    VARCHAR NOT NULL,
        ads      BIGINT  NOT NULL,  -- ads of the network this piece of evidence joins
        detail   VARCHAR
    )
    """,
    """
    CREATE TABLE link_image_pairs (  -- the last run's similar images, to see what a run changed
        sha_a VARCHAR NOT NULL,
        sha_b VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE link_text_pairs (  -- the last run's near-duplicate texts
        ad_a    BIGINT NOT NULL,
        ad_b    BIGINT NOT NULL,
        jaccard DOUBLE NOT NULL,  -- shown as evidence: a change must refresh the evidence
        shared  BIGINT NOT NULL
    )
    """,
    """
    CREATE TABLE link_runs (
        finished   TIMESTAMP NOT NULL,
        params     JSON      NOT NULL,
        ads        BIGINT    NOT NULL,
        networks   BIGINT    NOT NULL,
        persons    BIGINT    NOT NULL,
        hubs       BIGINT    NOT NULL,
        seconds    DOUBLE    NOT NULL
    )
    """,
)

_DECISIONS: tuple[str, ...] = (
    # Decisions are never deleted: a revoked one keeps who made it and who revoked it, and why.
    """
    CREATE TABLE analyst_decisions (
        decision_id BIGINT    NOT NULL PRIMARY KEY,  -- 1, 2, ... in the order they were made
        decision    VARCHAR   NOT NULL,  -- 'merge': one network; 'separate': side a apart from side b
        analyst     VARCHAR   NOT NULL,
        note        VARCHAR,
        decided_at  TIMESTAMP NOT NULL,
        revoked_by  VARCHAR,             -- set when an analyst withdraws the decision
        revoked_at  TIMESTAMP,
        revoke_note VARCHAR
    )
    """,
    """
    CREATE TABLE analyst_decision_ads (
        decision_id BIGINT  NOT NULL,
        side        VARCHAR NOT NULL,  -- 'a' (every ad of a merge), or one side of a separation
        source      VARCHAR NOT NULL,
        id          VARCHAR NOT NULL
    )
    """,
    """
    INSERT INTO analyst_decisions
    SELECT row_number() OVER (ORDER BY decided_at, source_a, id_a, source_b, id_b),
           decision, analyst, note, decided_at, NULL, NULL, NULL
    FROM link_decisions
    """,
    """
    INSERT INTO analyst_decision_ads
    WITH numbered AS (
        SELECT row_number() OVER (ORDER BY decided_at, source_a, id_a, source_b, id_b) AS decision_id, *
        FROM link_decisions
    )
    SELECT decision_id, 'a', source_a, id_a FROM numbered
    UNION ALL SELECT decision_id, 'a', source_b, id_b FROM numbered
    """,
    "DROP TABLE link_decisions",
    """
    CREATE TABLE link_cuts (  -- links the last run removed to honour an analyst's separation
        decision_id BIGINT  NOT NULL,
        a           BIGINT  NOT NULL,  -- ad keys of the link's two ends
        b           BIGINT  NOT NULL,
        kind        VARCHAR NOT NULL,
        value       VARCHAR NOT NULL
    )
    """,
)

_SCORES: tuple[str, ...] = (
    """
    CREATE TABLE score_parts (  -- every contribution to every score, so each score shows its reasons
        level        VARCHAR NOT NULL,  -- 'network' (a network's own) or 'ad' (an ad's own)
        unit         VARCHAR NOT NULL,  -- the network id, or the ad key as text
        feature      VARCHAR NOT NULL,  -- e.g. persons_per_phone, lexicon:third_party, mean:obscured_phone
        value        DOUBLE  NOT NULL,  -- what was measured
        detail       VARCHAR,           -- which phone, which phrase, which circuit ...
        x            DOUBLE  NOT NULL,  -- the value as the model reads it (above floor, to cap)
        contribution DOUBLE  NOT NULL   -- log-odds added; never negative
    )
    """,
    """
    CREATE TABLE network_scores (
        network VARCHAR NOT NULL PRIMARY KEY,
        ads     BIGINT  NOT NULL,
        logit   DOUBLE  NOT NULL,
        score   DOUBLE  NOT NULL,  -- 0..1: a priority for review, not a finding
        model   VARCHAR NOT NULL   -- 'prior' or 'model <id>'
    )
    """,
    """
    CREATE TABLE ad_scores (
        ad_key  BIGINT  NOT NULL PRIMARY KEY,
        source  VARCHAR NOT NULL,
        id      VARCHAR NOT NULL,
        network VARCHAR NOT NULL,
        logit   DOUBLE  NOT NULL,
        score   DOUBLE  NOT NULL,
        model   VARCHAR NOT NULL
    )
    """,
    # Labels name a network by one of its ads, so they follow the ad when networks merge or split.
    """
    CREATE TABLE score_labels (
        label_id    BIGINT    NOT NULL PRIMARY KEY,
        source      VARCHAR   NOT NULL,
        id          VARCHAR   NOT NULL,
        network     VARCHAR   NOT NULL,  -- the network when it was labelled (for the record)
        label       VARCHAR   NOT NULL,  -- trafficking, independent, unsure
        analyst     VARCHAR   NOT NULL,
        note        VARCHAR,
        labelled_at TIMESTAMP NOT NULL,
        revoked_by  VARCHAR,
        revoked_at  TIMESTAMP
    )
    """,
    """
    CREATE TABLE score_models (
        model_id     BIGINT    NOT NULL PRIMARY KEY,
        created_at   TIMESTAMP NOT NULL,
        analyst      VARCHAR   NOT NULL,
        labels       BIGINT    NOT NULL,  -- labelled networks it was fitted on
        bias         DOUBLE    NOT NULL,
        coefficients JSON      NOT NULL,  -- feature -> log-odds per unit of x
        model_ap     DOUBLE,              -- cross-validated average precision of the fitted weights
        prior_ap     DOUBLE,              -- ... and of the prior weights on the same labels
        adopted      BOOLEAN   NOT NULL,  -- used for scoring (only when it beat the priors)
        detail       JSON      NOT NULL
    )
    """,
    """
    CREATE TABLE score_runs (
        finished TIMESTAMP NOT NULL,
        ads      BIGINT    NOT NULL,
        networks BIGINT    NOT NULL,
        model    VARCHAR   NOT NULL,
        lexicon  VARCHAR   NOT NULL,
        weights  VARCHAR   NOT NULL,
        seconds  DOUBLE    NOT NULL
    )
    """,
)

_LOCAL_PRICES: tuple[str, ...] = (
    """
    CREATE TABLE score_local_prices (  -- the local market the last score run compared prices with
        place  VARCHAR NOT NULL PRIMARY KEY,
        median DOUBLE  NOT NULL,
        ads    BIGINT  NOT NULL
    )
    """,
)

# A quarantined record is told apart by its text too: a rewritten feed file can hold another bad
# record on the same line with the same reason, and keying on (file, line, reason) alone dropped
# it. ``raw_sha256`` is the SHA-256 of ``raw`` as kept (its first 4 KB), so a re-run of the same
# file still finds its rows already there.
_QUARANTINE_BY_TEXT: tuple[str, ...] = (
    """
    CREATE TABLE quarantine_by_text (
        file           VARCHAR   NOT NULL,
        line           INTEGER   NOT NULL,
        reason         VARCHAR   NOT NULL,
        raw            VARCHAR   NOT NULL,  -- first 4 KB of the record as read
        quarantined_at TIMESTAMP NOT NULL,
        run_id         BIGINT,
        raw_sha256     VARCHAR   NOT NULL,  -- SHA-256 (hex) of raw
        UNIQUE (file, line, reason, raw_sha256)
    )
    """,
    "INSERT INTO quarantine_by_text SELECT *, sha256(raw) FROM quarantine",
    "DROP TABLE quarantine",
    "ALTER TABLE quarantine_by_text RENAME TO quarantine",
)

# Analysts' acts say what they are (`threadline.refs`: D… decisions, L… labels). A split stays a
# separation (every run honours it as one) and names the network it took ads out of; splits made
# before this migration cannot be told from separations and stay listed as such. A hub mark is a
# decision too ('hub' or 'not-hub', with its kind and value); ``hub_marks`` keeps the marks in
# force, each with the decision that made it. A label's withdrawal keeps its note.
_ACTS: tuple[str, ...] = (
    "ALTER TABLE analyst_decisions ADD COLUMN split_from VARCHAR",
    "ALTER TABLE analyst_decisions ADD COLUMN hub_kind VARCHAR",
    "ALTER TABLE analyst_decisions ADD COLUMN hub_value VARCHAR",
    "ALTER TABLE hub_marks ADD COLUMN decision_id BIGINT",
    """
    INSERT INTO analyst_decisions (decision_id, decision, analyst, note, decided_at, hub_kind, hub_value)
    SELECT (SELECT COALESCE(MAX(decision_id), 0) FROM analyst_decisions)
               + row_number() OVER (ORDER BY marked_at, kind, value),
           CASE WHEN is_hub THEN 'hub' ELSE 'not-hub' END, analyst, note, marked_at, kind, value
    FROM hub_marks
    """,
    """
    UPDATE hub_marks SET decision_id = d.decision_id
    FROM analyst_decisions d WHERE d.hub_kind = hub_marks.kind AND d.hub_value = hub_marks.value
    """,
    "ALTER TABLE score_labels ADD COLUMN revoke_note VARCHAR",
)

# Ids that survive change (link/lineage.py): what split from or merged into what, and when.
_LINEAGE: tuple[str, ...] = (
    """
    CREATE TABLE link_lineage (
        kind        VARCHAR   NOT NULL,  -- 'network' or 'person'
        old_id      VARCHAR   NOT NULL,
        new_id      VARCHAR   NOT NULL,
        relation    VARCHAR   NOT NULL,  -- 'split': new_id split from old_id; 'merged': old_id into new_id
        decision_id BIGINT,              -- the analyst's decision that caused a split, if any
        changed_at  TIMESTAMP NOT NULL
    )
    """,
)

# Long texts are kept in parts. DuckDB (1.5) holds a string longer than its 256 KiB block in memory
# whole whenever the row group that holds it is written or checkpointed, and that memory is outside
# its cap: a file of records with a 1 MB field each took ingest past 1.5 GB, and near the cap DuckDB
# gave up on the file. A value of an ad's text columns longer than LONG_TEXT_BYTES is stored in
# ``ad_text_parts`` in parts of PART_CHARS characters (at most 128 KiB each), its row in
# ``ad_rows`` holding a placeholder; the view ``ads`` puts the value back together, so every reader
# still sees ``ads`` as before. Writers go through `ads_insert`.
LONG_TEXT_BYTES = 128 * 1024
PART_CHARS = 32 * 1024
_AD_COLUMNS = (
    "source", "id", "version", "content_hash", "title", "body", "url", "posted_at", "captured_at",
    "location", "images", "fields", "extra", "region", "file", "line", "run_id", "ingested_at",
)  # fmt: skip
# The text columns that can be long, and what the row holds in place of a value kept in parts.
# (Migration 10 was built from these constants: they never change.)
PARTED = {
    "title": "",
    "body": "",
    "url": "",
    "location": "",
    "images": "null",
    "fields": "null",
    "extra": "null",
}


def text_parts(value: str | None) -> list[str] | None:
    """``value`` cut into parts of PART_CHARS characters when it is longer than LONG_TEXT_BYTES
    (in UTF-8), else None (it stays in its row)."""
    if value is None or len(value) * 4 <= LONG_TEXT_BYTES:
        return None
    if len(value) <= LONG_TEXT_BYTES and len(value.encode("utf-8", "surrogatepass")) <= LONG_TEXT_BYTES:
        return None
    return [value[i : i + PART_CHARS] for i in range(0, len(value), PART_CHARS)]


def _assembled(column: str) -> str:
    value = f"p.{column}"
    if PARTED[column] == "null":  # a JSON column: only a value put back together is cast
        value = f"CAST(p.{column} AS JSON)"
    return f"CASE WHEN p.{column} IS NULL THEN r.{column} ELSE {value} END AS {column}"


def _parts_of(relation: str) -> str:
    """SELECT of the ``ad_text_parts`` rows for the long values in ``relation``."""
    return " UNION ALL ".join(
        f"SELECT source, id, version, '{c}' AS col, i AS part,"
        f" substr(CAST({c} AS VARCHAR), i * {PART_CHARS} + 1, {PART_CHARS}) AS text"
        f" FROM {relation},"
        f" range(0, CAST(ceil(length(CAST({c} AS VARCHAR)) / {PART_CHARS}) AS BIGINT)) AS n(i)"
        f" WHERE strlen(CAST({c} AS VARCHAR)) > {LONG_TEXT_BYTES}"
        for c in PARTED
    )


def ads_insert(relation: str, select: dict[str, str] | None = None) -> tuple[str, str]:
    """The two statements that store the ads of ``relation`` (a table, view or subquery with the
    ``ads`` columns; ``select`` gives an expression for a column it lacks): their long values
    into ``ad_text_parts``, the rows into ``ad_rows``. (Ingest cuts long values in Python,
    `text_parts`, so DuckDB never holds one whole; this is for ``load`` of a run's Parquet.)"""
    exprs = {c: (select or {}).get(c, c) for c in _AD_COLUMNS}
    source = f"(SELECT {', '.join(f'{e} AS {c}' for c, e in exprs.items())} FROM {relation})"
    row = ", ".join(
        f"CASE WHEN strlen(CAST({c} AS VARCHAR)) > {LONG_TEXT_BYTES} THEN '{PARTED[c]}' ELSE {c} END"
        if c in PARTED
        else c
        for c in _AD_COLUMNS
    )
    return (
        f"INSERT INTO ad_text_parts {_parts_of(source)}",
        f"INSERT INTO ad_rows ({', '.join(_AD_COLUMNS)}) SELECT {row} FROM {source}",
    )


def _long_texts() -> tuple[str, ...]:
    parts = ", ".join(f"string_agg(text, '' ORDER BY part) FILTER (WHERE col = '{c}') AS {c}" for c in PARTED)
    columns = ", ".join(_assembled(c) if c in PARTED else f"r.{c}" for c in _AD_COLUMNS)
    return (
        "ALTER TABLE ads RENAME TO ad_rows",
        """
        CREATE TABLE ad_text_parts (
            source  VARCHAR NOT NULL,
            id      VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            col     VARCHAR NOT NULL,  -- the ads column the value belongs to
            part    INTEGER NOT NULL,  -- 0, 1, ...: the value is the parts joined in this order
            text    VARCHAR NOT NULL,
            PRIMARY KEY (source, id, version, col, part)
        )
        """,
        f"INSERT INTO ad_text_parts {_parts_of('ad_rows')}",
        *(
            f"UPDATE ad_rows SET {c} = '{PARTED[c]}' WHERE strlen(CAST({c} AS VARCHAR)) > {LONG_TEXT_BYTES}"
            for c in PARTED
        ),
        f"""
        CREATE VIEW ads AS
        SELECT {columns}
        FROM ad_rows r
        LEFT JOIN (SELECT source, id, version, {parts} FROM ad_text_parts GROUP BY source, id, version) p
          ON p.source = r.source AND p.id = r.id AND p.version = r.version
        """,
        # The latest versions are chosen before their long values are put together (a window over
        # the view took twice as long on a million ads).
        f"""
        CREATE OR REPLACE VIEW latest_ads AS
        SELECT {columns}
        FROM (SELECT * FROM ad_rows QUALIFY version = max(version) OVER (PARTITION BY source, id)) r
        LEFT JOIN (SELECT source, id, version, {parts} FROM ad_text_parts GROUP BY source, id, version) p
          ON p.source = r.source AND p.id = r.id AND p.version = r.version
        """,
    )


# How many phone numbers hold the rarest piece of text a near-duplicate pair shares: a text that
# many hold is a hub, which joins nothing on its own (link/steps.py `_weak_joins`).
_TEXT_HOLDERS = ("ALTER TABLE link_text_pairs ADD COLUMN holders BIGINT",)


# What readers need without recomputing it (threadline.read): a full-text index of the ads' words
# (`store.text_index`: DuckDB's fts extension downloads at run time, which an air-gapped unit
# cannot do), filled here from every stored ad and then kept current by every write; and what a
# scoring run now saves beside the scores, for the networks it scored: each network's summary for
# the triage queue (``network_summary``), its movement features, and the itineraries and circuits
# of its networks and persons (`score.movement`), so that a network's view reads them.
_READ_TABLES: tuple[str, ...] = (
    "CREATE SEQUENCE search_doc_ids START 1",
    """
    CREATE TABLE search_docs (
        doc     BIGINT  NOT NULL,  -- the index's own number for the ad (changes with each version)
        source  VARCHAR NOT NULL,
        id      VARCHAR NOT NULL,
        version INTEGER NOT NULL,  -- the version indexed: the ad's latest
        terms   INTEGER NOT NULL   -- words indexed (for ranking: longer ads weigh each word less)
    )
    """,
    """
    CREATE TABLE search_terms (
        term VARCHAR NOT NULL,  -- lower case, without accents (text_index.terms_sql)
        doc  BIGINT  NOT NULL,
        tf   INTEGER NOT NULL   -- times the word occurs in the ad
    )
    """,
    # The words of every ad stored so far, cut as text_index.terms_sql cut them when this
    # migration was written (a change of the cut is a new migration that indexes again).
    r"""
    CREATE TEMP TABLE _ti_docs AS
    SELECT nextval('search_doc_ids') AS doc, source, id, version,
           list_filter(
               regexp_extract_all(
                   lower(strip_accents(left(concat_ws(' ', title, body, location), 65536))),
                   '[\p{L}\p{N}]+'
               ),
               w -> length(w) BETWEEN 2 AND 40
           ) AS words
    FROM latest_ads
    """,
    "INSERT INTO search_docs SELECT doc, source, id, version, len(words) FROM _ti_docs",
    """
    INSERT INTO search_terms
    SELECT term, doc, COUNT(*) FROM (SELECT doc, unnest(words) AS term FROM _ti_docs) GROUP BY term, doc
    """,
    "DROP TABLE _ti_docs",
    """
    CREATE TABLE network_summary (  -- one row per scored network, for the triage queue
        network        VARCHAR   NOT NULL PRIMARY KEY,
        ads            BIGINT    NOT NULL,
        persons        BIGINT    NOT NULL,
        phones         BIGINT    NOT NULL,  -- distinct phone numbers in its ads' latest versions
        first_date     TIMESTAMP,           -- an ad's date: posted, else captured
        last_date      TIMESTAMP,
        last_place     VARCHAR,             -- the place of its latest dated ad
        places         VARCHAR[] NOT NULL,  -- every place of its ads
        sources        VARCHAR[] NOT NULL,
        hubs           BIGINT    NOT NULL,  -- hub values its ads carry (not used to link)
        last_ingested  TIMESTAMP NOT NULL   -- when the newest of its ads' latest versions was stored
    )
    """,
    """
    CREATE TABLE score_movement (  -- score.movement's `movement` table of the networks scored
        network            VARCHAR NOT NULL PRIMARY KEY,
        places             BIGINT  NOT NULL,
        moves              BIGINT  NOT NULL,
        median_stay_days   DOUBLE,
        max_km_per_day     DOUBLE,
        foreign_code_share DOUBLE,
        origin             VARCHAR,
        circuit            VARCHAR,
        circuit_repeats    DOUBLE  NOT NULL
    )
    """,
    """
    CREATE TABLE score_itineraries (  -- stays of every network and person scored
        unit_kind  VARCHAR   NOT NULL,  -- 'network' or 'person'
        unit       VARCHAR   NOT NULL,
        stay_no    BIGINT    NOT NULL,  -- 1, 2, ... in time order
        place      VARCHAR   NOT NULL,
        country    VARCHAR,
        first_seen TIMESTAMP NOT NULL,
        last_seen  TIMESTAMP NOT NULL,
        ads        BIGINT    NOT NULL
    )
    """,
    """
    CREATE TABLE score_circuits (  -- the circuit of a network's or person's stays, if any
        unit_kind         VARCHAR NOT NULL,
        unit              VARCHAR NOT NULL,
        circuit           VARCHAR NOT NULL,  -- 'A -> B -> C'
        cycle_len         BIGINT  NOT NULL,
        laps              DOUBLE  NOT NULL,
        full_laps         BIGINT  NOT NULL,
        start_stay        BIGINT  NOT NULL,
        end_stay          BIGINT  NOT NULL,
        missed            BIGINT  NOT NULL,
        extra             BIGINT  NOT NULL,
        median_dwell_days DOUBLE,
        simultaneous      BOOLEAN
    )
    """,
)


# Accounts and the audit (threadline.service): users, browser sessions and API tokens, kept so that
# a copy of the store reveals no password, session or token (argon2id hashes of passwords,
# SHA-256 hashes of session ids and tokens); and the hash-chained audit log with its signed head
# (service/audit.py).
_ACCOUNTS_AND_AUDIT: tuple[str, ...] = (
    """
    CREATE TABLE users (
        name          VARCHAR   NOT NULL PRIMARY KEY,
        role          VARCHAR   NOT NULL,  -- admin, supervisor, analyst
        password_hash VARCHAR   NOT NULL,  -- argon2id, with its parameters (PHC string)
        disabled      BOOLEAN   NOT NULL,
        created_at    TIMESTAMP NOT NULL,
        failed_logins INTEGER   NOT NULL,  -- failures since the last success or lockout
        locked_until  TIMESTAMP,
        last_login    TIMESTAMP,
        totp_secret   VARCHAR,             -- base32; NULL: no second factor
        totp_last_step BIGINT              -- the last TOTP time step used (a code works once)
    )
    """,
    """
    CREATE TABLE sessions (
        id_hash    VARCHAR   NOT NULL PRIMARY KEY,  -- SHA-256 (hex) of the id in the cookie
        user_name  VARCHAR   NOT NULL,
        csrf_token VARCHAR   NOT NULL,
        origin     VARCHAR   NOT NULL,
        created_at TIMESTAMP NOT NULL,
        last_seen  TIMESTAMP NOT NULL,
        expires_at TIMESTAMP NOT NULL  -- however active the session is
    )
    """,
    "CREATE SEQUENCE api_token_ids START 1",
    """
    CREATE TABLE api_tokens (
        token_id   BIGINT    PRIMARY KEY DEFAULT nextval('api_token_ids'),  -- shown as T1, T2 ...
        token_hash VARCHAR   NOT NULL UNIQUE,  -- SHA-256 (hex) of the token
        user_name  VARCHAR   NOT NULL,
        scope      VARCHAR   NOT NULL,  -- read, push
        created_at TIMESTAMP NOT NULL,
        expires_at TIMESTAMP NOT NULL,
        last_used  TIMESTAMP,
        revoked_at TIMESTAMP,
        revoked_by VARCHAR
    )
    """,
    # No key and no index: the log only grows (reads of every ad are in it), seq is checked by
    # `audit verify`, and appends find the end through audit_head.
    """
    CREATE TABLE audit_log (
        seq        BIGINT    NOT NULL,  -- 1, 2, ...
        logged_at  TIMESTAMP NOT NULL,
        actor      VARCHAR   NOT NULL,
        actor_kind VARCHAR   NOT NULL,  -- user, token, os-user
        origin     VARCHAR   NOT NULL,  -- client IP, or 'cli'
        action     VARCHAR   NOT NULL,
        object     VARCHAR,
        detail     JSON      NOT NULL,
        prev_hash  VARCHAR   NOT NULL,  -- hash of entry seq - 1 (64 zeros for entry 1)
        hash       VARCHAR   NOT NULL   -- SHA-256 of the entry, prev_hash included
    )
    """,
    """
    CREATE TABLE audit_head (  -- one row: the last entry, signed with the installation key
        seq       BIGINT    NOT NULL,
        hash      VARCHAR   NOT NULL,
        key_id    VARCHAR   NOT NULL,
        signature VARCHAR   NOT NULL,  -- Ed25519, hex
        signed_at TIMESTAMP NOT NULL
    )
    """,
    """
    CREATE TABLE audit_checkpoints (  -- a signed head every 1,000 entries, kept for good
        seq       BIGINT    NOT NULL,
        hash      VARCHAR   NOT NULL,
        key_id    VARCHAR   NOT NULL,
        signature VARCHAR   NOT NULL,
        signed_at TIMESTAMP NOT NULL
    )
    """,
)


# What a network's view reads instead of scanning every extraction (a million ads hold tens of
# millions): each linked ad's row as lists show it, and each person's identifiers, names and
# images with their counts and dates. Saved by scoring runs for the networks they score
# (score/saved.py); a store scored before this has them filled by its next run, which scores
# everything once.
_READ_ROWS: tuple[str, ...] = (
    """
    CREATE TABLE ad_summary (  -- one row per linked ad: its latest version as lists show it
        ad_key      BIGINT    NOT NULL,
        source      VARCHAR   NOT NULL,
        id          VARCHAR   NOT NULL,
        version     INTEGER   NOT NULL,
        network     VARCHAR   NOT NULL,
        person      VARCHAR   NOT NULL,
        date        TIMESTAMP,           -- posted, else captured
        place       VARCHAR,             -- the first place extraction read, else the location given
        url         VARCHAR,
        ingested_at TIMESTAMP NOT NULL   -- when this version was stored
    )
    """,
    """
    CREATE TABLE network_values (  -- per person: phones, e-mails, handles, names, images of its ads
        network    VARCHAR   NOT NULL,
        person     VARCHAR   NOT NULL,
        kind       VARCHAR   NOT NULL,
        value      VARCHAR   NOT NULL,
        ads        BIGINT    NOT NULL,  -- its ads that hold the value in any version
        latest_ads BIGINT    NOT NULL,  -- ... in their latest version
        first_seen TIMESTAMP,           -- the date of the first and last version that holds it
        last_seen  TIMESTAMP
    )
    """,
    # Filled for the networks a store already holds, as score/saved.py `refresh_network_summary`
    # filled them when this was written (network_summary too: a store scored before migration 12
    # had none, and the queue would be empty until its next scoring run).
    "DELETE FROM network_summary",
    """
    CREATE TEMP TABLE _summary_ads AS
    WITH own AS (SELECT * FROM ad_links),
    latest AS (
        SELECT r.source, r.id, MAX(r.version) AS version
        FROM ad_rows r JOIN own o ON o.source = r.source AND o.id = r.id GROUP BY ALL
    ), rows AS (
        SELECT o.ad_key, o.source, o.id, m.version, o.network, o.person,
               COALESCE(a.posted_at, a.captured_at) AS date, a.location, a.url, a.ingested_at
        FROM own o
        JOIN latest m ON m.source = o.source AND m.id = o.id
        JOIN ads a ON a.source = m.source AND a.id = m.id AND a.version = m.version
    ), place AS (
        SELECT e.source, e.ad_id, arg_min(e.value, e.found_index) AS place
        FROM extractions e
        JOIN rows s ON s.source = e.source AND s.id = e.ad_id AND s.version = e.version
        WHERE e.kind = 'place' AND e.span_index = 0
        GROUP BY e.source, e.ad_id
    )
    SELECT s.ad_key, s.source, s.id, s.version, s.network, s.person, s.date,
           COALESCE(p.place, s.location) AS place, s.url, s.ingested_at
    FROM rows s LEFT JOIN place p ON p.source = s.source AND p.ad_id = s.id
    """,
    "INSERT INTO ad_summary SELECT * FROM _summary_ads",
    """
    INSERT INTO network_values
    SELECT s.network, s.person, e.kind, e.value, COUNT(DISTINCT s.ad_key),
           COUNT(DISTINCT s.ad_key) FILTER (WHERE e.version = s.version),
           MIN(COALESCE(r.posted_at, r.captured_at)), MAX(COALESCE(r.posted_at, r.captured_at))
    FROM extractions e
    JOIN _summary_ads s ON s.source = e.source AND s.id = e.ad_id
    JOIN ad_rows r ON r.source = e.source AND r.id = e.ad_id AND r.version = e.version
    WHERE e.kind IN ('phone', 'email', 'handle', 'name', 'image')
    GROUP BY s.network, s.person, e.kind, e.value
    """,
    """
    INSERT INTO network_summary
    WITH phones AS (
        SELECT network, COUNT(DISTINCT value) AS phones
        FROM network_values WHERE kind = 'phone' AND latest_ads > 0
        GROUP BY network
    ), hubs AS (
        SELECT v.network, COUNT(DISTINCT (h.kind, h.value)) AS hubs
        FROM (SELECT kind, value, split_part(value, ' ', 1) AS plain FROM link_hubs WHERE is_hub) h
        -- a phone's hub value names its tenure: "+18005550199 from 2026-08-01"
        JOIN network_values v ON v.kind = h.kind AND v.value = h.plain
        GROUP BY v.network
    )
    SELECT a.network, COUNT(*), COUNT(DISTINCT a.person), COALESCE(MIN(p.phones), 0),
           MIN(a.date), MAX(a.date), arg_max(a.place, a.date),
           list_sort(COALESCE(list(DISTINCT a.place) FILTER (WHERE a.place IS NOT NULL), [])),
           list_sort(list(DISTINCT a.source)), COALESCE(MIN(h.hubs), 0), MAX(a.ingested_at)
    FROM _summary_ads a
    LEFT JOIN phones p ON p.network = a.network
    LEFT JOIN hubs h ON h.network = a.network
    GROUP BY a.network
    """,
    "DROP TABLE _summary_ads",
)


# Identifiers in the words index (store/text_index.py), so that finding an ad by a phone, e-mail,
# handle or name reads the index instead of every extraction: the identifiers of every version of
# the ads a store already holds, as text_index.IDENTIFIER_TERMS cut them when this was written.
_INDEXED_IDENTIFIERS: tuple[str, ...] = (
    """
    INSERT INTO search_terms
    WITH v AS (
        SELECT DISTINCT d.doc, e.kind, e.value
        FROM extractions e JOIN search_docs d ON d.source = e.source AND d.id = e.ad_id
        WHERE e.kind IN ('phone', 'email', 'handle', 'name')
    )
    SELECT term, doc, 1 FROM (
        SELECT doc, kind || ':' || value AS term FROM v WHERE kind IN ('phone', 'email', 'handle')
        UNION SELECT doc, 'name:' || lower(value) FROM v WHERE kind = 'name'
        UNION SELECT doc, 'handlename:' || split_part(value, ':', 2) FROM v WHERE kind = 'handle'
    )
    """,
)


# Each source's home region: a phone number without a country code in an ad of the source whose
# location names no country is read there (`threadline source set`, or the first `ingest --region`
# of the source). ``set_by`` names who set it and how.
_SOURCE_SETTINGS: tuple[str, ...] = (
    """
    CREATE TABLE source_settings (
        source VARCHAR   PRIMARY KEY,
        region VARCHAR   NOT NULL,  -- a region phone numbers know (phonenumbers.SUPPORTED_REGIONS)
        set_at TIMESTAMP NOT NULL,
        set_by VARCHAR   NOT NULL
    )
    """,
)


# Every arrival of a record (from a file or a crawler's push), changed or not, and a crawler's
# report that an ad is gone: when each version was on show, and when an ad was taken down (an
# ad removed the day after a raid is evidence). A store made before this gets one sighting per
# version it holds, from the record that version came from.
_SIGHTINGS: tuple[str, ...] = (
    """
    CREATE TABLE sightings (
        source      VARCHAR   NOT NULL,
        id          VARCHAR   NOT NULL,
        version     INTEGER,             -- the version on show; NULL for a gone report
        seen_at     TIMESTAMP NOT NULL,  -- the record's captured_at, else when it arrived (UTC)
        captured_at TIMESTAMP,           -- the record's own captured_at (NULL: it gave none)
        gone        BOOLEAN   NOT NULL,  -- the crawler found the ad removed (404/410, or said so)
        file        VARCHAR   NOT NULL,  -- input file, or the push batch's spool file
        line        INTEGER   NOT NULL,
        run_id      BIGINT,              -- ingest_runs.id
        token_id    BIGINT,              -- the API token that pushed it; NULL for a file
        received_at TIMESTAMP NOT NULL   -- when the store took it (UTC)
    )
    """,
    """
    INSERT INTO sightings
    SELECT source, id, version, coalesce(captured_at, ingested_at), captured_at, false, file, line, run_id,
           NULL, ingested_at
    FROM ad_rows
    """,
    # The sources a push token may send ads of (a token without rows here: any). A table of its
    # own: DuckDB cannot replay an ALTER TABLE of a table with a unique index (api_tokens) from
    # its write-ahead log, so a store killed before its next checkpoint would not open again.
    """
    CREATE TABLE token_sources (
        token_id BIGINT  NOT NULL,
        source   VARCHAR NOT NULL,
        PRIMARY KEY (token_id, source)
    )
    """,
)


# Cases (issue 16): named bodies of work an analyst builds over weeks. Membership is kept per ad
# (`case_ads`): a network added brings the ads it holds then, and while the case follows it
# (`case_networks`) each link run brings its new ads in with a notice (`case_notices`); a split
# moves ads to another network but never out of a case. Rows are never deleted: a removal is
# stamped (who, when), so the case's history stays with it as the audit's does.
_CASES: tuple[str, ...] = (
    """
    CREATE TABLE cases (
        case_id    INTEGER   NOT NULL,  -- shown as C1, C2, ...
        name       VARCHAR   NOT NULL,
        status     VARCHAR   NOT NULL,  -- open or closed
        tags       VARCHAR[] NOT NULL,
        created_by VARCHAR   NOT NULL,
        created_at TIMESTAMP NOT NULL
    )
    """,
    """
    CREATE TABLE case_networks (  -- networks a case follows: their new ads join it on link runs
        case_id    INTEGER   NOT NULL,
        network    VARCHAR   NOT NULL,  -- the id as added; merges are followed (link/lineage.py)
        added_by   VARCHAR   NOT NULL,
        added_at   TIMESTAMP NOT NULL,
        removed_by VARCHAR,
        removed_at TIMESTAMP
    )
    """,
    """
    CREATE TABLE case_ads (  -- one row per ad ever in the case
        case_id    INTEGER   NOT NULL,
        source     VARCHAR   NOT NULL,
        id         VARCHAR   NOT NULL,
        via        VARCHAR,             -- the network it came in with; NULL: added alone
        added_by   VARCHAR   NOT NULL,  -- an analyst, or 'link run' for a followed network's new ad
        added_at   TIMESTAMP NOT NULL,
        removed_by VARCHAR,
        removed_at TIMESTAMP
    )
    """,
    """
    CREATE TABLE case_notices (  -- what changed in a case without an analyst's act
        case_id    INTEGER   NOT NULL,
        noticed_at TIMESTAMP NOT NULL,
        network    VARCHAR   NOT NULL,
        ads        INTEGER   NOT NULL,  -- new ads the link run brought in from the network
        text       VARCHAR   NOT NULL
    )
    """,
    """
    CREATE TABLE case_notes (
        note_id    INTEGER   NOT NULL,
        case_id    INTEGER   NOT NULL,
        author     VARCHAR   NOT NULL,
        written_at TIMESTAMP NOT NULL,
        body       VARCHAR   NOT NULL   -- markdown as typed; rendered with raw HTML disabled
    )
    """,
    """
    CREATE TABLE case_analysts (
        case_id     INTEGER   NOT NULL,
        analyst     VARCHAR   NOT NULL,
        assigned_by VARCHAR   NOT NULL,
        assigned_at TIMESTAMP NOT NULL
    )
    """,
    """
    CREATE TABLE case_opened (  -- when each analyst last opened each case: "new since"
        case_id   INTEGER   NOT NULL,
        analyst   VARCHAR   NOT NULL,
        opened_at TIMESTAMP NOT NULL
    )
    """,
)


# Watchlists and alerts (issue 16; threadline.watch): an analyst's entries (identifiers, a saved
# search, a photo, a missing person) kept as rows a batch of new ads is joined to, never looped
# over: each entry's normalised values (`watch_values`: phones in E.164, e-mails, handles' names,
# names, places and words in lower case) and each photo's hashes cut in bytes
# (`watch_image_chunks`). An alert is raised once per entry and ad, with the parts
# that matched; read per user; delivered (webhook, SMTP) by the server's delivery thread, retried
# with backoff. The delivery settings are an admin's (`threadline alerts config`).
_WATCHLISTS: tuple[str, ...] = (
    "CREATE SEQUENCE watch_entry_ids START 1",
    """
    CREATE TABLE watch_entries (
        entry      BIGINT    PRIMARY KEY DEFAULT nextval('watch_entry_ids'),  -- shown as W1, W2 ...
        kind       VARCHAR   NOT NULL,  -- identifiers, search, photo, missing
        owner      VARCHAR   NOT NULL,
        case_id    VARCHAR,             -- plain text until cases exist
        note       VARCHAR,
        spec       JSON      NOT NULL,  -- the entry as given (its photo as hashes, never the image)
        age_min    INTEGER,
        age_max    INTEGER,
        date_from  TIMESTAMP,           -- ads posted (else captured, else stored) in this window
        date_to    TIMESTAMP,
        needs      JSON      NOT NULL,  -- parts that must all match (a saved search)
        created_at TIMESTAMP NOT NULL,
        expires_at TIMESTAMP,
        removed_at TIMESTAMP,
        removed_by VARCHAR
    )
    """,
    """
    CREATE TABLE watch_values (
        entry BIGINT  NOT NULL,
        part  VARCHAR NOT NULL,  -- identifier, name, place, word
        kind  VARCHAR NOT NULL,  -- phone, email, handle-name, name, place, word
        value VARCHAR NOT NULL   -- as the batch's facts hold it (`threadline.watch._match`)
    )
    """,
    """
    CREATE TABLE watch_image_chunks (
        entry BIGINT  NOT NULL,
        pdq   VARCHAR NOT NULL,
        phash VARCHAR NOT NULL,
        hash  VARCHAR NOT NULL,  -- pdq (32 chunks of a byte) or phash (8)
        chunk INTEGER NOT NULL,
        val   VARCHAR NOT NULL
    )
    """,
    "CREATE SEQUENCE alert_ids START 1",
    """
    CREATE TABLE alerts (
        alert     BIGINT    PRIMARY KEY DEFAULT nextval('alert_ids'),  -- shown as A1, A2 ...
        entry     BIGINT    NOT NULL,
        source    VARCHAR   NOT NULL,
        id        VARCHAR   NOT NULL,
        version   INTEGER   NOT NULL,  -- the version that matched
        parts     VARCHAR[] NOT NULL,  -- which parts matched: identifier, name, age, place, ...
        why       JSON      NOT NULL,  -- each part with the ad's value that matched it
        raised_at TIMESTAMP NOT NULL,
        UNIQUE (entry, source, id)
    )
    """,
    """
    CREATE TABLE alert_reads (
        alert     BIGINT    NOT NULL,
        user_name VARCHAR   NOT NULL,
        read_at   TIMESTAMP NOT NULL,
        PRIMARY KEY (alert, user_name)
    )
    """,
    """
    CREATE TABLE alert_deliveries (
        alert      BIGINT    NOT NULL,
        channel    VARCHAR   NOT NULL,  -- webhook, smtp
        status     VARCHAR   NOT NULL,  -- pending, sent, failed (gave up)
        attempts   INTEGER   NOT NULL,
        next_at    TIMESTAMP NOT NULL,
        last_error VARCHAR,
        sent_at    TIMESTAMP
    )
    """,
    """
    CREATE TABLE alert_settings (
        key    VARCHAR   PRIMARY KEY,  -- webhook, smtp, workspace_url
        value  JSON      NOT NULL,
        set_at TIMESTAMP NOT NULL,
        set_by VARCHAR   NOT NULL
    )
    """,
)


# Hash lists (issue 15; threadline.store.hashlists): lists of known child sexual abuse material's
# hashes as trust-and-safety organisations and clearinghouses exchange them (PDQ, MD5, SHA-256),
# loaded by a unit (`threadline hashlist load`). Every image of the archive is matched once when a
# list is loaded and every new image when it is stored. A matching image is never displayed,
# never exported, and flags its ads for mandatory reporting. No table here has a key or index:
# rows are appended (each match once, checked by the insert), never updated; a report is a new
# row of `hash_match_reports`.
_HASH_LISTS: tuple[str, ...] = (
    "CREATE SEQUENCE hash_list_ids START 1",
    """
    CREATE TABLE hash_lists (
        list_id     BIGINT    NOT NULL,  -- shown as HL1, HL2 ...
        name        VARCHAR   NOT NULL,
        source_file VARCHAR   NOT NULL,  -- the file loaded, as named
        file_sha256 VARCHAR   NOT NULL,  -- its content
        entries     BIGINT    NOT NULL,  -- hashes kept (each once)
        rejected    BIGINT    NOT NULL,  -- malformed lines left out (said with their numbers)
        loaded_at   TIMESTAMP NOT NULL,
        loaded_by   VARCHAR   NOT NULL
    )
    """,
    """
    CREATE TABLE hash_list_entries (
        list_id BIGINT  NOT NULL,
        kind    VARCHAR NOT NULL,  -- pdq, md5, sha256
        value   VARCHAR NOT NULL,  -- lower-case hex: 64 digits (pdq, sha256) or 32 (md5)
        line    BIGINT  NOT NULL   -- where the file gave it
    )
    """,
    """
    CREATE TABLE image_md5 (  -- an image's MD5, for lists that give MD5s (one row per image)
        sha256 VARCHAR NOT NULL,
        md5    VARCHAR NOT NULL
    )
    """,
    """
    CREATE TABLE hash_matches (  -- one row per image and list entry it matches
        sha256     VARCHAR   NOT NULL,  -- the image
        list_id    BIGINT    NOT NULL,
        kind       VARCHAR   NOT NULL,  -- pdq, md5, sha256
        value      VARCHAR   NOT NULL,  -- the list's hash that matched
        distance   INTEGER   NOT NULL,  -- PDQ: bits of 256 that differ; 0 for an exact hash
        flagged_at TIMESTAMP NOT NULL
    )
    """,
    """
    CREATE TABLE hash_match_reports (  -- mandatory reporting: each image's report, as recorded
        sha256      VARCHAR   NOT NULL,
        reported_at TIMESTAMP NOT NULL,
        reported_by VARCHAR   NOT NULL,
        note        VARCHAR   NOT NULL   -- the clearinghouse's reference, or how it was reported
    )
    """,
)


# What the offline geocoder says of each phone prefix (the number less its last four digits),
# kept so that a scoring run geocodes only prefixes it has not met (`score.movement`): the
# geocoder's data and the places gazetteer take a second to load in every process otherwise.
# ``country`` NULL: the geocoder places no number of the prefix in a country.
_PHONE_HOMES: tuple[str, ...] = (
    """
    CREATE TABLE phone_homes (
        prefix  VARCHAR PRIMARY KEY,
        country VARCHAR,
        region  VARCHAR,
        lat     DOUBLE,
        lon     DOUBLE,
        level   VARCHAR,  -- city, region or country
        label   VARCHAR
    )
    """,
)


# Each ad's link inputs as `link.steps.input_rows` reads them from its latest version's
# extractions, kept so that a link run reads the extractions of new versions only (`link.kept`).
# Filled by the first link run after this migration.
_LINK_INPUTS: tuple[str, ...] = (
    """
    CREATE TABLE link_input_ads (
        ad_key  BIGINT  NOT NULL,
        version INTEGER NOT NULL  -- the version the ad's rows were read from
    )
    """,
    "CREATE TABLE link_input_digest (digest VARCHAR NOT NULL)  -- of the SQL the rows were read by",
    "CREATE TABLE link_input_ids (ad_key BIGINT NOT NULL, kind VARCHAR NOT NULL, plain VARCHAR NOT NULL)",
    "CREATE TABLE link_input_names (ad_key BIGINT NOT NULL, name VARCHAR NOT NULL)",
    "CREATE TABLE link_input_facts (ad_key BIGINT NOT NULL, city VARCHAR, age INTEGER, ages BIGINT)",
    """
    CREATE TABLE link_input_sentences (ad_key BIGINT NOT NULL, source VARCHAR NOT NULL, h BIGINT, pos BIGINT)
    """,
    """
    CREATE TABLE link_input_prices (
        ad_key     BIGINT  NOT NULL,
        source     VARCHAR NOT NULL,
        ad_id      VARCHAR NOT NULL,
        version    INTEGER NOT NULL,
        per_hour   DOUBLE,
        site_place VARCHAR,
        place      VARCHAR
    )
    """,
)

_ORPHAN_PAIRS: tuple[str, ...] = (
    """
    CREATE TABLE link_orphan_pairs (  -- the last run's `corroboration.orphan_pairs`
        orphan BIGINT  NOT NULL,
        other  BIGINT  NOT NULL,
        detail VARCHAR NOT NULL  -- the probability and reason the run read (not compared)
    )
    """,
)

# Indexes for the look-ups of one ad (its view, the ads a search found): DuckDB scans a table
# whole unless the only filter pushed into its scan is an equality (or IN list) on one column with
# an index of its own, so these are single-column indexes and the readers filter by that column
# alone first (`by_id`), the rest afterwards. Ids are nearly unique across sources: a look-up by
# id reads an ad's rows and few others'.
_LOOKUP_INDEXES: tuple[str, ...] = (
    "CREATE INDEX ad_rows_by_id ON ad_rows (id)",
    "CREATE INDEX extractions_by_ad_id ON extractions (ad_id)",
    "CREATE INDEX ad_links_by_id ON ad_links (id)",
    "CREATE INDEX ad_summary_by_id ON ad_summary (id)",
    "CREATE INDEX sightings_by_id ON sightings (id)",
    "CREATE INDEX ad_images_by_ad_id ON ad_images (ad_id)",
)


def by_id(table: str, column: str, among: str | None = None) -> str:
    """A ``WITH hit AS MATERIALIZED (...)`` clause: the rows of ``table`` whose ``column`` is the
    query's first parameter, or is among what the query ``among`` gives.

    Materialized, the look-up is a query of its own, with no filter on another column pushed
    into its scan: DuckDB uses a table's index (`_LOOKUP_INDEXES`) only when the one filter of
    the scan is on the indexed column, and scans the whole table otherwise (a join pushes a
    filter of its own). The caller filters ``hit`` by the rest (the source, the version). With
    ``among`` (DuckDB 1.5.6), a WHERE on ``hit`` still reaches the look-up's scan and loses the
    index: the rest is tested after a GROUP BY (HAVING), or by a join."""
    test = "= ?" if among is None else f"IN ({among})"
    return f"WITH hit AS MATERIALIZED (SELECT * FROM {table} WHERE {column} {test})"


# The identifier terms of the words index again, with an index by term (text_index: an index of
# every word cost every batch too much).
_INDEXED_IDENTIFIER_TERMS: tuple[str, ...] = (
    "CREATE TABLE search_ids (term VARCHAR NOT NULL, doc BIGINT NOT NULL)",
    "INSERT INTO search_ids SELECT term, doc FROM search_terms WHERE contains(term, ':')",
    "CREATE INDEX search_ids_by_term ON search_ids (term)",  # text_index.ID_INDEX
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "ads, extractions, images, quarantine, ingest runs", _INITIAL),
    Migration(2, "latest_ads view", _LATEST_ADS),
    Migration(3, "linking: ad keys, analyst decisions, persons and networks, hubs, evidence", _LINKING),
    Migration(4, "analyst decisions with sides and revocation; links cut for separations", _DECISIONS),
    Migration(5, "scores with their parts, analysts' labels, fitted models", _SCORES),
    Migration(6, "local price medians of the last score run", _LOCAL_PRICES),
    Migration(7, "quarantine rows told apart by their text", _QUARANTINE_BY_TEXT),
    Migration(8, "splits and hub marks as decisions; the note of a label's withdrawal", _ACTS),
    Migration(9, "lineage of network and person ids", _LINEAGE),
    Migration(10, "long ad texts kept in parts; ads a view over ad_rows", _long_texts()),
    Migration(11, "holders of each near-duplicate text pair", _TEXT_HOLDERS),
    Migration(12, "full-text index; network summaries, movement and itineraries saved", _READ_TABLES),
    Migration(13, "accounts, sessions, API tokens; the hash-chained, signed audit log", _ACCOUNTS_AND_AUDIT),
    Migration(14, "linked ads and each person's identifiers saved for the network view", _READ_ROWS),
    Migration(15, "phones, e-mails, handles and names in the words index", _INDEXED_IDENTIFIERS),
    Migration(16, "each source's home region for phone numbers", _SOURCE_SETTINGS),
    Migration(17, "sightings of every record and of ads gone; the sources a push token may send", _SIGHTINGS),
    Migration(18, "cases: members per ad, followed networks, notices, notes, analysts", _CASES),
    Migration(19, "watchlist entries, their values and photos; alerts, reads and deliveries", _WATCHLISTS),
    Migration(20, "hash lists, images' MD5s, hash-list matches and their reports", _HASH_LISTS),
    Migration(21, "the geocoder's home of each phone prefix met", _PHONE_HOMES),
    Migration(22, "each ad's link inputs kept, read again for new versions only", _LINK_INPUTS),
    Migration(23, "ads with nothing else to link them and the ads corroborating them", _ORPHAN_PAIRS),
    Migration(24, "indexes for the look-ups of one ad by its id", _LOOKUP_INDEXES),
    Migration(25, "the identifiers of the words index, indexed by term", _INDEXED_IDENTIFIER_TERMS),
)
LATEST_VERSION = MIGRATIONS[-1].version

# Row layouts of the tables written from more than one place, each the table's columns in their
# order on the latest schema (tests/store/test_store.py checks them against the migrated tables). A
# writer names the columns it fills, from here, and never relies on the order a CREATE TABLE and
# later ALTERs gave them.
#
# An extraction row, with the Arrow types its writers hand rows over in: ingest (`Store`),
# `score --rematch`, the Spark engine's workers; ``load`` of a run's output names them too.
EXTRACTION_ROW = pa.schema(
    [
        ("source", pa.string()),
        ("ad_id", pa.string()),
        ("version", pa.int32()),
        ("found_index", pa.int32()),
        ("span_index", pa.int32()),
        ("kind", pa.string()),
        ("value", pa.string()),
        ("field", pa.string()),
        ("span_start", pa.int32()),
        ("span_end", pa.int32()),
        ("detail", pa.string()),  # JSON: cast by DuckDB on insert
    ]
)
ROW_LAYOUTS: dict[str, tuple[str, ...]] = {
    "extractions": tuple(EXTRACTION_ROW.names),
    # One row per link run (`threadline link`, and ``load`` of a pipeline run's output).
    "link_runs": ("finished", "params", "ads", "networks", "persons", "hubs", "seconds"),
    # One row per score run (`threadline score`, and ``load``).
    "score_runs": ("finished", "ads", "networks", "model", "lexicon", "weights", "seconds"),
}


def insert_sql(table: str, columns: tuple[str, ...] | None = None, select: str | None = None) -> str:
    """``INSERT INTO table (columns) VALUES (?, ...)``, or ``... SELECT select`` when given one;
    ``columns`` default to the table's layout in `ROW_LAYOUTS`."""
    columns = ROW_LAYOUTS[table] if columns is None else columns
    rows = f"SELECT {select}" if select is not None else f"VALUES ({', '.join('?' * len(columns))})"
    return f"INSERT INTO {table} ({', '.join(columns)}) {rows}"


def insert_row(con: duckdb.DuckDBPyConnection, table: str, row: Mapping[str, Any]) -> None:
    """Insert one row of a table of `ROW_LAYOUTS`, its values named by column (all of them)."""
    columns = ROW_LAYOUTS[table]
    if set(row) != set(columns):
        wrong = ", ".join(sorted(set(row) ^ set(columns)))
        raise ValueError(f"a {table} row names each of {', '.join(columns)} once; wrong: {wrong}")
    con.execute(insert_sql(table), [row[c] for c in columns])


def utc_now() -> datetime:
    """Now, as the naive UTC timestamp every ``TIMESTAMP`` column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version of the open file: 0 for an empty file."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def migrate(
    con: duckdb.DuckDBPyConnection, migrations: tuple[Migration, ...] = MIGRATIONS
) -> tuple[int, int]:
    """Bring the file to the last of ``migrations``; returns (version before, version after).

    All missing migrations run in one transaction, so a crash mid-way leaves the old schema.
    """
    target = migrations[-1].version
    with transaction(con):
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, description VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        before = current_version(con)
        if before > target:
            raise SchemaTooNewError(
                f"store schema is version {before}, this Threadline knows up to {target}: upgrade Threadline"
            )
        for migration in migrations:
            if migration.version <= before:
                continue
            for statement in migration.statements:
                con.execute(statement)
            con.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                [migration.version, migration.description, utc_now()],
            )
    return before, target
