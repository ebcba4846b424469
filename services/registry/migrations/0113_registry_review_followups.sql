-- Follow-ups of the review service's events. A developer's exit (DeveloperExited) is recorded on its admission, and
-- may arrive before the admission itself (they travel on different durables), so an admission row can exist with
-- only its exit time. Products carry the review that last decided them as a column, for an upheld appeal
-- (AppealDecided names the review, not the product); no product has such a review before this migration, as the
-- review service emitted no verdicts then.
ALTER TABLE developer_admissions
    ALTER COLUMN admit_time DROP NOT NULL,
    ADD COLUMN exit_time timestamptz;                -- NULL = not exited

ALTER TABLE products ADD COLUMN last_review_id text;  -- the review service's productReviews/{id}
CREATE INDEX products_by_last_review ON products (last_review_id) WHERE last_review_id IS NOT NULL;
