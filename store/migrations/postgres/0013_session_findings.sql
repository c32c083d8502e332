-- The session list's findings filter and its keyset paging, PostgreSQL dialect. Keep in
-- step with ../sqlite/0013_session_findings.sql.
--
-- Issue 15 (the console's Sessions page): `findings` is the number of findings the plan's
-- reconciliation report raised about the session (R-10-5), written with the report
-- (Store::store_report); NULL until the plan is reported. Reports stored before this
-- column existed are read once here: their sealed body's `findings[].session`.
-- The list pages by (started_at, id), newest first, never by offset.

ALTER TABLE sessions ADD COLUMN findings BIGINT;

UPDATE sessions SET findings = (
    SELECT count(*) FROM reports r,
        jsonb_array_elements(r.body::jsonb -> 'findings') f
    WHERE r.plan_id = sessions.plan_id
      AND f ->> 'session' = sessions.id
) WHERE plan_id IN (SELECT plan_id FROM reports);

CREATE INDEX sessions_started_id ON sessions (started_at, id);
