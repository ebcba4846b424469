-- Audit rows are appended without a lock and chained afterwards by a sealer (pdop_kit::audit::seal), so writers
-- no longer queue behind one another until commit. `chain_pos` is a row's place in the chain, set once when it is
-- sealed together with its hashes; rows written before this migration were sealed in `seq` order.
CREATE SEQUENCE IF NOT EXISTS audit_log_seq;
SELECT setval('audit_log_seq', COALESCE((SELECT max(seq) FROM audit_log), 0) + 1, false);
ALTER TABLE audit_log ALTER COLUMN seq SET DEFAULT nextval('audit_log_seq');
ALTER SEQUENCE audit_log_seq OWNED BY audit_log.seq;
ALTER TABLE audit_log ADD COLUMN IF NOT EXISTS chain_pos bigint UNIQUE;
ALTER TABLE audit_log ALTER COLUMN prev_hash DROP NOT NULL;
ALTER TABLE audit_log ALTER COLUMN hash DROP NOT NULL;
CREATE INDEX IF NOT EXISTS audit_log_unsealed ON audit_log (seq) WHERE chain_pos IS NULL;

-- Still append-only: the one change allowed is sealing an unsealed row, leaving its content as it was.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.chain_pos IS NULL AND NEW.chain_pos IS NOT NULL
       AND (NEW.seq, NEW.actor, NEW.actor_org, NEW.action, NEW.resource, NEW.detail, NEW.trace_id, NEW.occurred_at)
           IS NOT DISTINCT FROM
           (OLD.seq, OLD.actor, OLD.actor_org, OLD.action, OLD.resource, OLD.detail, OLD.trace_id, OLD.occurred_at)
       AND (OLD.hash IS NULL OR (NEW.hash = OLD.hash AND NEW.prev_hash = OLD.prev_hash)) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

UPDATE audit_log SET chain_pos = seq WHERE chain_pos IS NULL;
