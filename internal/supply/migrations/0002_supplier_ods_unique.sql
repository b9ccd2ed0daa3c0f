-- A supplier's ods_code says which NHS body it is, and impact?supplier=CODE
-- resolves the code to one supplier, so no two suppliers may share one
-- (issue 13: a supplier representative could set their supplier's code to a
-- trust's and take over its impact answers). Suppliers without a code are
-- many, so the index is partial.
--
-- Codes shared before this migration can only have come from that defect or
-- a mistake. The code stays with one supplier: one without a tenant
-- organisation (the register keeps NHS bodies' supplier rows itself; a
-- representative's row has a tenant) before one with, then the lowest
-- supplier_id; the others lose it and a supply-chain manager reviews them
-- (the audit log holds who set each code).
UPDATE supply_suppliers SET ods_code = ''
WHERE ods_code <> '' AND EXISTS (
	SELECT 1 FROM supply_suppliers o
	WHERE o.ods_code = supply_suppliers.ods_code AND o.supplier_id <> supply_suppliers.supplier_id
	AND ((CASE WHEN o.tenant_org = '' THEN 0 ELSE 1 END) < (CASE WHEN supply_suppliers.tenant_org = '' THEN 0 ELSE 1 END)
		OR ((CASE WHEN o.tenant_org = '' THEN 0 ELSE 1 END) = (CASE WHEN supply_suppliers.tenant_org = '' THEN 0 ELSE 1 END)
			AND o.supplier_id < supply_suppliers.supplier_id))
);
CREATE UNIQUE INDEX supply_suppliers_ods ON supply_suppliers (ods_code) WHERE ods_code <> '';
