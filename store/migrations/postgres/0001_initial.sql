-- fumidai schema, PostgreSQL dialect. Keep in step with ../sqlite/0001_initial.sql.
--
-- Conventions (the store reads both databases through sqlx::Any, which knows only
-- integers, floats, text and bytes):
-- - timestamps are BIGINT unix microseconds (UTC), so audit `at` round-trips exactly;
-- - flags are BOOLEAN here and INTEGER 0/1 on SQLite;
-- - lists and audit details are JSON text.

CREATE TABLE vendors (
    name              TEXT    NOT NULL PRIMARY KEY,
    -- JSON array of CIDRs its engineers may connect from; empty allows any.
    allow_from        TEXT    NOT NULL,
    emergency_allowed BOOLEAN NOT NULL,
    created_at        BIGINT  NOT NULL
);

CREATE TABLE accounts (
    login              TEXT    NOT NULL PRIMARY KEY,
    kind               TEXT    NOT NULL CHECK (kind IN ('engineer', 'operator')),
    display_name       TEXT,
    vendor             TEXT    REFERENCES vendors (name),
    role               TEXT    CHECK (role IN ('operator', 'manager', 'auditor')),
    -- Argon2id PHC string; the password itself is never stored.
    password_hash      TEXT    NOT NULL,
    -- XChaCha20-Poly1305 under the master key, bound to 'totp:<login>'.
    totp_secret_sealed BYTEA   NOT NULL,
    -- Step of the last accepted code; a code is accepted once only.
    last_totp_step     BIGINT,
    failed_count       BIGINT  NOT NULL DEFAULT 0,
    locked_until       BIGINT,
    enabled            BOOLEAN NOT NULL DEFAULT TRUE,
    created_at         BIGINT  NOT NULL
);

CREATE INDEX accounts_vendor ON accounts (vendor);

CREATE TABLE certificates (
    serial            TEXT   NOT NULL PRIMARY KEY,
    login             TEXT   NOT NULL REFERENCES accounts (login),
    not_before        BIGINT NOT NULL,
    not_after         BIGINT NOT NULL,
    sha256            TEXT   NOT NULL,
    issued_at         BIGINT NOT NULL,
    revoked_at        BIGINT,
    revocation_reason TEXT
);

CREATE INDEX certificates_login ON certificates (login);

-- R-17-2: hash-chained and append-only. The triggers stop mistakes and ordinary
-- sessions; a superuser can drop them, which the chain catches.
CREATE TABLE audit_log (
    seq       BIGINT NOT NULL PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT   NOT NULL,
    kind      TEXT   NOT NULL,
    subject   TEXT   NOT NULL,
    detail    TEXT   NOT NULL,
    prev_hash TEXT   NOT NULL,
    hash      TEXT   NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
