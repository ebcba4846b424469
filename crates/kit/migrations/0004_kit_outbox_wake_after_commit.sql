-- The relay is now woken after commit (pdop_kit::events::OutboxWaker), not by a NOTIFY inside the writing
-- transaction: PostgreSQL holds its notify lock through the commit's WAL flush, so every writer committed in turn.
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
DROP FUNCTION IF EXISTS outbox_notify();
