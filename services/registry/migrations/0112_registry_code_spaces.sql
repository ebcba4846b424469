-- Registration codes are numbered within their code space: the code as the configured format renders it with the
-- sequence number left out (DJ-530000-2026-…). Two jurisdictions sharing a division code share a space, so their
-- codes cannot collide whatever the format shows. Codes issued under the earlier per-jurisdiction numbering are
-- skipped over when issuing (registrations.registration_code is unique).
CREATE TABLE registration_code_spaces (
    space text   PRIMARY KEY,
    last  bigint NOT NULL
);
DROP TABLE registration_code_sequences;
