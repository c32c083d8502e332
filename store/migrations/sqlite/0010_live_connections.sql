-- Logged-in SSH connections without a maintenance session, SQLite dialect. Keep in step
-- with ../postgres/0010_live_connections.sql.
--
-- Issue 12: an engineer logged in with no channel (a ControlMaster started with -N, say)
-- holds a connection but no session; `fumidai session list --live` (another process, or
-- on PostgreSQL another node) must show it as "logged in, no channel" and `session kill`
-- must reach it. The gateway inserts the row at login and deletes it when the connection
-- opens its session or closes, and deletes its node's rows at start (orphans of a crash).
-- A kill is recorded on the row (with its `session.killed` audit record) and executed by
-- the gateway holding the connection.

CREATE TABLE connections (
    id                TEXT   NOT NULL PRIMARY KEY,
    engineer          TEXT   NOT NULL REFERENCES accounts (login),
    client_addr       TEXT   NOT NULL,
    -- The gateway node holding it (as for sessions).
    node              TEXT,
    logged_in_at      BIGINT NOT NULL,
    kill_requested_at BIGINT,
    -- The actor as the audit trail names it ('cli:root', 'person:olga').
    kill_requested_by TEXT,
    kill_reason       TEXT
);

-- `fumidai session kill --block`: the engineer is withdrawn from the session's plan and
-- can't come back under it (admission and the live re-check no longer see the plan for
-- them). One row per plan and engineer; the audit trail says who and why.
CREATE TABLE plan_blocks (
    plan_id    TEXT   NOT NULL REFERENCES plans (id),
    engineer   TEXT   NOT NULL REFERENCES accounts (login),
    blocked_at BIGINT NOT NULL,
    blocked_by TEXT   NOT NULL,
    reason     TEXT   NOT NULL,
    PRIMARY KEY (plan_id, engineer)
);
