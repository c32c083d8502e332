-- Targets, work plans and sessions, PostgreSQL dialect. Keep in step with
-- ../sqlite/0002_targets_plans.sql. Conventions as in 0001_initial.sql.

-- Removal is soft (removed_at), and names are never reused: plans, sessions and the audit
-- trail keep naming the server they meant.
CREATE TABLE targets (
    name              TEXT    NOT NULL PRIMARY KEY,
    protocol          TEXT    NOT NULL CHECK (protocol IN ('ssh')),
    host              TEXT    NOT NULL,
    port              BIGINT  NOT NULL CHECK (port BETWEEN 1 AND 65535),
    -- The account fumidai logs in as on the target.
    login             TEXT    NOT NULL,
    auth              TEXT    NOT NULL CHECK (auth IN ('key', 'password', 'cert')),
    -- XChaCha20-Poly1305 under the master key, bound to 'target:<name>'. NULL when fumidai
    -- signs a certificate per session instead, and once the target is removed.
    credential_sealed BYTEA,
    -- The pinned host key, 'TYPE BASE64'.
    host_key          TEXT    NOT NULL,
    -- JSON array of tags.
    tags              TEXT    NOT NULL,
    created_at        BIGINT  NOT NULL,
    removed_at        BIGINT,
    CHECK (removed_at IS NOT NULL OR (auth = 'cert') = (credential_sealed IS NULL))
);

-- No CHECK on status, as on SQLite (which can't alter a CHECK without rebuilding the
-- table): later migrations add states. The store calls any status it doesn't know corrupt.
CREATE TABLE plans (
    id              TEXT    NOT NULL PRIMARY KEY,
    vendor          TEXT    NOT NULL REFERENCES vendors (name),
    -- JSON arrays of logins, target names and step texts.
    engineers       TEXT    NOT NULL,
    targets         TEXT    NOT NULL,
    starts_at       BIGINT  NOT NULL,
    ends_at         BIGINT  NOT NULL,
    purpose         TEXT    NOT NULL,
    steps           TEXT    NOT NULL,
    allow_upload    BOOLEAN NOT NULL,
    allow_download  BOOLEAN NOT NULL,
    allow_forward   BOOLEAN NOT NULL,
    status          TEXT    NOT NULL,
    submitted_by    TEXT    NOT NULL,
    decided_by      TEXT,
    decision_reason TEXT,
    submitted_at    BIGINT  NOT NULL,
    decided_at      BIGINT,
    CHECK (ends_at > starts_at)
);

CREATE INDEX plans_ends_at ON plans (ends_at);

CREATE TABLE sessions (
    id                  TEXT   NOT NULL PRIMARY KEY,
    engineer            TEXT   NOT NULL REFERENCES accounts (login),
    target              TEXT   NOT NULL REFERENCES targets (name),
    plan_id             TEXT   NOT NULL REFERENCES plans (id),
    client_addr         TEXT   NOT NULL,
    started_at          BIGINT NOT NULL,
    ended_at            BIGINT,
    end_reason          TEXT,
    -- The recording's file name, and once sealed its SHA-256 and Ed25519 signature (hex).
    recording           TEXT,
    recording_sha256    TEXT,
    recording_signature TEXT,
    CHECK ((ended_at IS NULL) = (end_reason IS NULL))
);

CREATE INDEX sessions_started_at ON sessions (started_at);
CREATE INDEX sessions_live ON sessions (started_at) WHERE ended_at IS NULL;
