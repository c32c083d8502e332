-- Kill requests for live sessions, PostgreSQL dialect. Keep in step with
-- ../sqlite/0003_session_kills.sql.
--
-- `fumidai session kill` (another process, or on PostgreSQL another node) records the
-- request on the session's row together with its `session.killed` audit record; the
-- gateway holding the session polls for requests on sessions not yet ended and cuts them
-- with end reason 'killed'. A request stays pending until the session ends.

ALTER TABLE sessions ADD COLUMN kill_requested_at BIGINT;
-- The actor as the audit trail names it ('cli:root', 'person:olga').
ALTER TABLE sessions ADD COLUMN kill_requested_by TEXT;
ALTER TABLE sessions ADD COLUMN kill_reason TEXT;

-- What every gateway polls once a second: small, since ended sessions drop out.
CREATE INDEX sessions_pending_kills ON sessions (kill_requested_at)
    WHERE kill_requested_at IS NOT NULL AND ended_at IS NULL;
