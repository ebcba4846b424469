-- The disclosure log (RFC 9162 Merkle tree). Entries, tree nodes and signed tree heads are append-only: the
-- triggers below refuse UPDATE and DELETE, so no code path can edit or remove what was published. Mutable
-- annotations (corrections, retraction) live beside the entries, not in them.

-- The log's size; its single row is the append lock, so sequences are dense and nodes are written in order.
CREATE TABLE log_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    size      bigint  NOT NULL
);
INSERT INTO log_state (size) VALUES (0);

CREATE TABLE entries (
    sequence        bigint PRIMARY KEY,
    kind            smallint    NOT NULL,            -- pdop.disclosure.v1.EntryKind
    jurisdiction_id text        NOT NULL,            -- '' when the entry has none
    subject         text        NOT NULL,
    discloser_id    text        NOT NULL,            -- '' when the entry has none
    publish_time    timestamptz NOT NULL,
    source_event_id text UNIQUE,                     -- at most one entry per source event
    leaf_input      bytea       NOT NULL,            -- canonical JSON hashed into the leaf
    leaf_hash       bytea       NOT NULL,
    body            bytea       NOT NULL             -- pdop.disclosure.v1.Entry, leaf fields only
);
CREATE INDEX entries_leaf_hash ON entries (leaf_hash);
CREATE INDEX entries_jurisdiction ON entries (jurisdiction_id, sequence);
CREATE INDEX entries_subject ON entries (subject, sequence);
CREATE INDEX entries_discloser ON entries (discloser_id, sequence);
CREATE INDEX entries_kind ON entries (kind, sequence);
CREATE INDEX entries_publish_time ON entries (publish_time);

-- Hashes of the complete subtrees: level 0 = leaf hashes; (level, idx) covers leaves [idx·2^level, (idx+1)·2^level).
CREATE TABLE merkle_nodes (
    level smallint NOT NULL,
    idx   bigint   NOT NULL,
    hash  bytea    NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE tree_heads (
    id           bigserial PRIMARY KEY,
    tree_size    bigint NOT NULL,
    root_hash    bytea  NOT NULL,
    timestamp_ms bigint NOT NULL,
    signature    bytea  NOT NULL,
    key_id       text   NOT NULL
);
CREATE INDEX tree_heads_size ON tree_heads (tree_size, id);

-- The public keys that signed tree heads, so retired keys stay verifiable.
CREATE TABLE log_keys (
    key_id      text PRIMARY KEY,
    public_key  bytea       NOT NULL,
    first_used  timestamptz NOT NULL
);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the disclosure log is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END $$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE OR DELETE ON merkle_nodes
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER tree_heads_append_only BEFORE UPDATE OR DELETE ON tree_heads
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
