-- pipgate's shared state on PostgreSQL, first layout. Applied once, in one transaction,
-- under a session advisory lock (src/store/postgres/migrate.rs): two replicas starting at
-- once apply it once. Never edit an applied migration; add the next numbered file instead.

-- Where every listed file comes from: the same bytes may be listed under several
-- filenames and projects, each kept (seq: oldest first, as the embedded store's rowid).
CREATE TABLE origins (
    key TEXT NOT NULL,
    filename TEXT NOT NULL,
    project TEXT NOT NULL,
    url TEXT NOT NULL,
    hashes TEXT NOT NULL,
    upload_time TEXT,
    size BIGINT,
    core_metadata TEXT,
    seq BIGSERIAL NOT NULL,
    PRIMARY KEY (key, filename, project)
);
CREATE INDEX origins_project ON origins (project);

-- Verification is of bytes: by key.
CREATE TABLE verified (
    key TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    metadata_sha256 TEXT
);

-- Scan reports (JSON text) by sha256 and scanner version.
CREATE TABLE scans (
    sha256 TEXT NOT NULL,
    scanner_version TEXT NOT NULL,
    report TEXT NOT NULL,
    created TIMESTAMPTZ NOT NULL DEFAULT now(),
    seq BIGSERIAL NOT NULL,
    PRIMARY KEY (sha256, scanner_version)
);

-- The last verdict per (sha256, filename) and what it was made under.
CREATE TABLE verdicts (
    sha256 TEXT NOT NULL,
    filename TEXT NOT NULL,
    project TEXT NOT NULL,
    version TEXT,
    decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    policy_digest TEXT NOT NULL,
    enrichment TEXT NOT NULL,
    scanner_version TEXT NOT NULL,
    time TEXT NOT NULL,
    PRIMARY KEY (sha256, filename)
);

-- Verdict changes, in the order they were recorded cluster-wide.
CREATE TABLE verdict_changes (
    id BIGSERIAL PRIMARY KEY,
    time TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    project TEXT NOT NULL,
    version TEXT,
    filename TEXT NOT NULL,
    old_decision TEXT NOT NULL,
    new_decision TEXT NOT NULL,
    reason TEXT NOT NULL,
    trigger TEXT NOT NULL,
    policy_digest TEXT NOT NULL
);
CREATE INDEX verdict_changes_sha256 ON verdict_changes (sha256);

-- Single flight across replicas: one lease per key, renewed while its holder works; a
-- lease past expires_at (its replica died or stalled) is taken over by the next to ask.
CREATE TABLE flight_leases (
    key TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
