-- Transactional outbox: a row is written in the same transaction as the state change it announces,
-- and stays until JetStream acknowledges it (published_at set by the relay).
CREATE TABLE IF NOT EXISTS outbox (
    seq          bigserial PRIMARY KEY,          -- relay order
    id           uuid        NOT NULL UNIQUE,    -- ce-id and Nats-Msg-Id
    subject      text        NOT NULL,           -- pdop.registry.resource.created
    ce_type      text        NOT NULL,           -- pdop.registry.resource.created.v1
    ce_subject   text        NOT NULL,           -- resources/123 (ordering key)
    payload      bytea       NOT NULL,           -- protobuf event payload
    traceparent  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE published_at IS NULL;

-- Wakes the relay at commit time; the relay also polls slowly in case a notification is missed.
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pdop_outbox', '');
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Consumer idempotency: a message id is recorded in the transaction that applies it.
CREATE TABLE IF NOT EXISTS inbox (
    consumer    text        NOT NULL,
    message_id  text        NOT NULL,
    subject     text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, message_id)
);

-- Idempotent creates (AIP-155): the first response to a request_id is returned to every retry.
CREATE TABLE IF NOT EXISTS idempotency (
    method      text        NOT NULL,
    request_id  text        NOT NULL,
    caller      text        NOT NULL,
    response    bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (method, request_id, caller)
);
