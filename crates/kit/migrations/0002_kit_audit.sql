-- Append-only audit log. Each row's hash covers its content and the previous row's hash, so an
-- edited or removed row breaks the chain (see pdop_kit::audit::verify_chain).
CREATE TABLE IF NOT EXISTS audit_log (
    seq         bigint      PRIMARY KEY,
    actor       text        NOT NULL,            -- subject of the caller's token, or "system"
    actor_org   text        NOT NULL DEFAULT '',
    action      text        NOT NULL,            -- e.g. registry.CreateResource
    resource    text        NOT NULL,            -- resource name, e.g. resources/123
    detail      text        NOT NULL,            -- canonical JSON (sorted keys), hashed as stored
    trace_id    text,
    occurred_at timestamptz NOT NULL,
    prev_hash   bytea       NOT NULL,
    hash        bytea       NOT NULL UNIQUE
);

-- The application never edits or deletes audit rows; the database refuses it too.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
