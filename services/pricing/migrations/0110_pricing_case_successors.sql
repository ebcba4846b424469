-- A later period is a new case naming its predecessor (N1 §四: the over-collection of one period is deducted from
-- the next). A case has at most one successor; an agreement has at most one case not yet in effect, so the
-- predecessor stays in effect while its successor is being priced.
DROP INDEX pricing_cases_one_open;
ALTER TABLE pricing_cases ADD COLUMN predecessor_id text UNIQUE REFERENCES pricing_cases (id);
CREATE UNIQUE INDEX pricing_cases_one_pending ON pricing_cases (agreement_id) WHERE state < 5;
