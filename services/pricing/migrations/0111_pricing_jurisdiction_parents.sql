-- The jurisdiction tree (THREATS H2): a supervisor acts on cases of its jurisdiction and those below it. Learned from
-- the registry's JurisdictionCreated/Updated events; NULL or '' is a root. Rows read before this column existed stay
-- roots until their next update event, so their supervisors above them are refused (never wrongly allowed).
ALTER TABLE jurisdictions ADD COLUMN parent_id text;
