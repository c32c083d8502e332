-- An index for finding a session's recording seals, PostgreSQL dialect. Keep in step with
-- ../sqlite/0011_audit_seals_index.sql.
--
-- Issue 14: `fumidai play`, `audit verify` and the reconciliation report look up
-- `recording.sealed` records by kind and session (the subject) through
-- Store::session_seals and Store::recording_seals, instead of reading the whole chain.
-- The same index serves the latest-login query (kind = 'login.success', grouped by
-- subject).

CREATE INDEX audit_log_kind_subject ON audit_log (kind, subject, seq);
