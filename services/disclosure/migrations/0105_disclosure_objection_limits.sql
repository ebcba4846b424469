-- Who objected, as a SHA-256 of the objector's kind and identity number or USCC: one pending objection per
-- objector and notice (THREATS H6), and a per-objector count over a window. Rows filed before have none.
ALTER TABLE objections ADD COLUMN objector_key text;
-- SHA-256 of the caller and the request as first received: a request_id replays only an identical request
-- (THREATS M1).
ALTER TABLE objections ADD COLUMN request_hash bytea;
CREATE UNIQUE INDEX objections_one_pending ON objections (notice_id, objector_key) WHERE state = 1;
CREATE INDEX objections_objector ON objections (objector_key, file_time);
