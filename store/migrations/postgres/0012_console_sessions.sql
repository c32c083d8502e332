-- Signed-in sessions of the operator web console, PostgreSQL dialect. Keep in step with
-- ../sqlite/0012_console_sessions.sql.
--
-- Issue 15: a hospital-side person signs in to the console with password + TOTP; the
-- browser then holds a random 256-bit token in the `__Host-fumidai_session` cookie. The
-- session lives here, not in the process, so a second node (PostgreSQL) sees it and a
-- restart does not sign anyone out. Only the token's SHA-256 is stored: someone who reads
-- this table can't present it. `last_seen_at` drives the idle sign-out (R-12.3.2);
-- `ended_at`/`end_reason` are set once, by sign-out or idle time-out, with their audit
-- record (console.signed_out).

CREATE TABLE console_sessions (
    -- Named in the audit trail (never the token or its digest).
    id           TEXT   NOT NULL PRIMARY KEY,
    -- Lowercase hex SHA-256 of the cookie's token.
    token_sha256 TEXT   NOT NULL UNIQUE,
    login        TEXT   NOT NULL REFERENCES accounts (login),
    -- The browser's address as the console saw it (a reverse proxy's, behind one).
    client_addr  TEXT,
    -- The per-session secret every form carries back (CSRF).
    csrf_token   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ended_at     BIGINT,
    -- 'signed_out' or 'idle'.
    end_reason   TEXT
);
