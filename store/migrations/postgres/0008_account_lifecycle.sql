-- Account and plan life cycle (issue 12; R-14-8, §14.2, §10.2), postgres dialect. Keep in step
-- with ../sqlite/0008_account_lifecycle.sql.
--
-- A vendor can be disabled, and its contract has an end: its engineers' logins are refused
-- from then on. An account whose password an operator set (creation or reset, §14 ⑥(4))
-- must change it at its next login (§14 ⑥(5)). An approved or active plan can be withdrawn
-- (status 'withdrawn'; status has no CHECK constraint) with who, when and why.

ALTER TABLE vendors ADD COLUMN enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE vendors ADD COLUMN contract_end BIGINT;
ALTER TABLE accounts ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE plans ADD COLUMN withdrawn_by TEXT;
ALTER TABLE plans ADD COLUMN withdrawn_at BIGINT;
ALTER TABLE plans ADD COLUMN withdrawal_reason TEXT;
