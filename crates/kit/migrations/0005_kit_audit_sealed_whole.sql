-- A row is sealed whole or not at all: its place, its hash and its predecessor's hash are set together. An
-- INSERT that supplies a hash of its own (a writer from before 0003, during a rolling upgrade) now fails
-- loudly instead of leaving a row the sealer can never chain.
ALTER TABLE audit_log ADD CONSTRAINT audit_log_sealed_whole
    CHECK ((chain_pos IS NULL) = (hash IS NULL) AND (hash IS NULL) = (prev_hash IS NULL));
