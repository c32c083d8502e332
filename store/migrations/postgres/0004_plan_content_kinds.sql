-- Upload content a plan declares, PostgreSQL dialect. Keep in step with
-- ../sqlite/0004_plan_content_kinds.sql.
--
-- R-10-6: uploads of executables, scripts, Office documents with macros and archives are
-- refused unless the plan declares that kind. Comma-separated names
-- ('executable,script,macro,archive'), empty for none; existing plans declare none.

ALTER TABLE plans ADD COLUMN allow_content TEXT NOT NULL DEFAULT '';
