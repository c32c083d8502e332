-- Which gateway node holds a session, sqlite dialect. Keep in step with
-- ../postgres/0005_session_node.sql.
--
-- A gateway that dies (SIGKILL, power loss) cannot end its sessions; at its next start it
-- ends those still live that it started, and only those: on a PostgreSQL store shared by
-- several nodes, another node's live sessions are really running. NULL for sessions
-- recorded before this column existed, or by a store that was not told its node.

ALTER TABLE sessions ADD COLUMN node TEXT;

-- What a starting gateway looks up: its own sessions not yet ended.
CREATE INDEX sessions_live_by_node ON sessions (node) WHERE ended_at IS NULL;
