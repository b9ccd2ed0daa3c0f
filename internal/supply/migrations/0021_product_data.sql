-- The most sensitive data a product processes (patient, personal, none;
-- '' while nobody has said), which assurance tiers read (issue 20).
-- Numbered apart from the steps around it so branches merge in any order.
ALTER TABLE supply_products ADD COLUMN data TEXT NOT NULL DEFAULT '';
