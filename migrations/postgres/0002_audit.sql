-- The audit trail on PostgreSQL: one ordered stream of every replica's decisions, and the
-- dashboard's index over them. Never edit once applied; add the next numbered file instead.

-- Every decision record, with the fields of its JSON line (docs/audit.md), the replica that
-- made it, and `seq`: the cluster-wide order `pipgate audit` reads in. A replica commits a
-- record here before the response it describes leaves (src/server/finish.rs).
CREATE TABLE audit_trail (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    replica TEXT NOT NULL,
    time TEXT NOT NULL,
    -- The same instant in Unix seconds (what `--since` compares).
    unix BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    client TEXT NOT NULL,
    user_name TEXT,
    user_agent TEXT,
    request TEXT NOT NULL,
    project TEXT NOT NULL,
    version TEXT,
    filename TEXT NOT NULL,
    sha256 TEXT,
    decision TEXT NOT NULL,
    reasons JSONB NOT NULL,
    findings TEXT[] NOT NULL,
    acceptances TEXT[] NOT NULL,
    policy_digest TEXT NOT NULL,
    fault TEXT,
    pipgate_version TEXT NOT NULL
);
CREATE INDEX audit_trail_unix ON audit_trail (unix);
CREATE INDEX audit_trail_project ON audit_trail (project, seq);
CREATE INDEX audit_trail_blocks ON audit_trail (seq) WHERE decision = 'block';

-- The dashboard's index (src/store/audit_index.rs), shared so `/-/` on any replica shows
-- every replica's decisions: rows, and hourly roll-ups kept as rows are written.
CREATE TABLE decisions (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time TEXT NOT NULL,
    unix BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    request TEXT NOT NULL,
    project TEXT NOT NULL,
    version TEXT,
    filename TEXT NOT NULL,
    sha256 TEXT,
    client TEXT NOT NULL,
    user_name TEXT,
    findings TEXT NOT NULL,
    rule TEXT,
    reason TEXT,
    until BIGINT
);
CREATE INDEX decisions_outcome ON decisions (outcome, id);
CREATE INDEX decisions_project ON decisions (project, id);
CREATE INDEX decisions_client ON decisions (client, id);
CREATE INDEX decisions_until ON decisions (until) WHERE until IS NOT NULL;
CREATE TABLE decision_hours (
    hour BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (hour, outcome)
);
CREATE TABLE finding_hours (
    hour BIGINT NOT NULL,
    finding TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (hour, finding)
);
