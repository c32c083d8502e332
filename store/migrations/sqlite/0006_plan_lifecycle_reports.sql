-- The full work plan and its life cycle after approval, and the reconciliation reports,
-- SQLite dialect. Keep in step with ../postgres/0006_plan_lifecycle_reports.sql.
--
-- R-10-1 / R-10-2: declared personal-data access (its justification) and the data-deletion
-- step, attested by an engineer after the work. R-10-5: a plan closes when its window is
-- over, is reported (the sealed reconciliation report) and confirmed by the planning
-- manager. Steps keep their JSON column: a step is a string, or {"text", "expect"} when
-- it names the commands it runs.

ALTER TABLE plans ADD COLUMN kind TEXT NOT NULL DEFAULT 'planned'
    CHECK (kind IN ('planned', 'emergency'));
ALTER TABLE plans ADD COLUMN personal_data TEXT;
ALTER TABLE plans ADD COLUMN data_deletion TEXT;
ALTER TABLE plans ADD COLUMN attested_by TEXT;
ALTER TABLE plans ADD COLUMN attested_at BIGINT;
ALTER TABLE plans ADD COLUMN attestation TEXT;
ALTER TABLE plans ADD COLUMN closed_at BIGINT;
ALTER TABLE plans ADD COLUMN reported_at BIGINT;
ALTER TABLE plans ADD COLUMN confirmed_by TEXT;
ALTER TABLE plans ADD COLUMN confirmed_at BIGINT;
ALTER TABLE plans ADD COLUMN confirmation TEXT;

-- One sealed report per plan: the canonical JSON body (HTML and text are rendered from
-- it), its SHA-256, the gateway's Ed25519 signature over that digest, and the audit
-- chain's head when it was produced.
CREATE TABLE reports (
    plan_id     TEXT   NOT NULL PRIMARY KEY REFERENCES plans (id),
    produced_at BIGINT NOT NULL,
    body        TEXT   NOT NULL,
    sha256      TEXT   NOT NULL,
    signature   TEXT   NOT NULL,
    audit_head  TEXT   NOT NULL
);
