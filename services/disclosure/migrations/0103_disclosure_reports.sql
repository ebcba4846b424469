-- One annual disclosure per organization, role and year (N4; D11); a mistake is fixed by a correction.
CREATE TABLE annual_disclosures (
    organization_id text     NOT NULL,
    role            smallint NOT NULL,               -- pdop.disclosure.v1.DiscloserRole
    year            int      NOT NULL,
    sequence        bigint   NOT NULL REFERENCES entries (sequence),
    PRIMARY KEY (organization_id, role, year)
);
