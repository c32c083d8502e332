-- RDP targets, PostgreSQL dialect. Keep in step with ../sqlite/0007_rdp_targets.sql.
--
-- targets.protocol gains 'rdp'; for an RDP target host_key holds the pinned certificate's
-- digest, 'sha256:HEX', and fumidai logs in with a password.
ALTER TABLE targets DROP CONSTRAINT targets_protocol_check;
ALTER TABLE targets ADD CONSTRAINT targets_protocol_check CHECK (protocol IN ('ssh', 'rdp'));
ALTER TABLE targets ADD CONSTRAINT targets_rdp_password CHECK (protocol = 'ssh' OR auth = 'password');
