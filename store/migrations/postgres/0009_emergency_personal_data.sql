-- Emergency limits, personal-data take-outs and factory accounts (issue 12), PostgreSQL
-- dialect. Keep in step with ../sqlite/0009_emergency_personal_data.sql.
--
-- R-11-1: an emergency opens only on a target its vendor is contracted for: the vendor's
-- target list (`fumidai vendor targets add`). Rows go when the contract for that target
-- ends; removed targets keep theirs (the name is never reused), unused.
CREATE TABLE vendor_targets (
    vendor   TEXT   NOT NULL REFERENCES vendors (name),
    target   TEXT   NOT NULL REFERENCES targets (name),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (vendor, target)
);

-- §7.1: a plan letting personal data leave describes the take-out (purpose, item count,
-- items, storage) as one JSON object; NULL when nothing leaves.
ALTER TABLE plans ADD COLUMN take_out TEXT;

-- R-10.1-NODEFAULT: a target whose login is a factory account (root, Administrator,
-- admin) is registered only with a stated reason, kept here; NULL otherwise.
ALTER TABLE targets ADD COLUMN shared_admin_reason TEXT;
