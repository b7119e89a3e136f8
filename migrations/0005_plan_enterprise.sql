-- The enterprise profile a plan was made from, if any: an enterprise's plans are found
-- together (which accident categories and posts they cover).
ALTER TABLE plans ADD COLUMN enterprise_id TEXT;
CREATE INDEX plans_by_enterprise ON plans (owner, enterprise_id);
