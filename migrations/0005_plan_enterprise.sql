-- The enterprise profile a plan was made from, if any, and the enterprise form it was asked
-- with (small: which accident category, which post): an enterprise's plans are found together
-- and what they cover is read without their texts.
ALTER TABLE plans ADD COLUMN enterprise_id TEXT;
ALTER TABLE plans ADD COLUMN enterprise_data TEXT;
CREATE INDEX plans_by_enterprise ON plans (owner, enterprise_id);
