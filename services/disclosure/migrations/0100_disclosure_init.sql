-- The disclosure service's schema starts here; the shared outbox, inbox, idempotency and audit tables
-- come from pdop-kit's migrations, which run first. Service migrations are numbered from 0100 so their
-- versions never collide with pdop-kit's (0001-0099) in the shared `_sqlx_migrations` table.
SELECT 1;
