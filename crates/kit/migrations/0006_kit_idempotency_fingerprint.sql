-- A request id names one request: the SHA-256 of the first request's encoding is kept beside its response, so the
-- same id sent with another body is refused instead of answered with the first response. Rows stored before this
-- column existed have none and are replayed as before.
ALTER TABLE idempotency ADD COLUMN IF NOT EXISTS request_hash bytea;
