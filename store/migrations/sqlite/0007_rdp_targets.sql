-- RDP targets, SQLite dialect. Keep in step with ../postgres/0007_rdp_targets.sql.
--
-- targets.protocol gains 'rdp'; for an RDP target host_key holds the pinned certificate's
-- digest, 'sha256:HEX'. SQLite cannot alter a CHECK, so the table is rebuilt as SQLite's
-- documentation prescribes: a new table, the rows copied, the old table dropped, the new
-- one renamed. Renaming the old table aside instead would rewrite sessions' REFERENCES
-- to follow it (foreign keys are on). Foreign keys are checked at commit, when every
-- session's target is back under its name.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE targets_with_rdp (
    name              TEXT    NOT NULL PRIMARY KEY,
    protocol          TEXT    NOT NULL CHECK (protocol IN ('ssh', 'rdp')),
    host              TEXT    NOT NULL,
    port              BIGINT  NOT NULL CHECK (port BETWEEN 1 AND 65535),
    -- The account fumidai logs in as on the target.
    login             TEXT    NOT NULL,
    auth              TEXT    NOT NULL CHECK (auth IN ('key', 'password', 'cert')),
    -- XChaCha20-Poly1305 under the master key, bound to 'target:<name>'. NULL when fumidai
    -- signs a certificate per session instead, and once the target is removed.
    credential_sealed BLOB,
    -- The pinned host key, 'TYPE BASE64' (SSH), or certificate digest, 'sha256:HEX' (RDP).
    host_key          TEXT    NOT NULL,
    -- JSON array of tags.
    tags              TEXT    NOT NULL,
    created_at        BIGINT  NOT NULL,
    removed_at        BIGINT,
    CHECK (removed_at IS NOT NULL OR (auth = 'cert') = (credential_sealed IS NULL)),
    CHECK (protocol = 'ssh' OR auth = 'password')
);

INSERT INTO targets_with_rdp (name, protocol, host, port, login, auth, credential_sealed, host_key,
                     tags, created_at, removed_at)
SELECT name, protocol, host, port, login, auth, credential_sealed, host_key, tags,
       created_at, removed_at
FROM targets;

DROP TABLE targets;

ALTER TABLE targets_with_rdp RENAME TO targets;
