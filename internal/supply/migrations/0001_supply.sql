-- Supplier register: suppliers, their products and services, the
-- dependencies between products, which organisations deploy them, contracts,
-- known vulnerabilities per product, and concentration snapshots for trends.
-- Keys are the register's own stable IDs (supplier_id, product_id), so
-- imports are idempotent upserts.
CREATE TABLE supply_suppliers (
	supplier_id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	companies_house_number TEXT NOT NULL DEFAULT '',
	duns TEXT NOT NULL DEFAULT '',
	parent_supplier_id TEXT NOT NULL DEFAULT '',
	country TEXT NOT NULL DEFAULT '',
	ods_code TEXT NOT NULL DEFAULT '',
	tenant_org TEXT NOT NULL DEFAULT '',
	designated_critical BOOLEAN NOT NULL DEFAULT FALSE,
	contacts TEXT NOT NULL DEFAULT '',
	updated_at TEXT NOT NULL
);
CREATE INDEX supply_suppliers_parent ON supply_suppliers (parent_supplier_id);
CREATE INDEX supply_suppliers_tenant ON supply_suppliers (tenant_org);
CREATE TABLE supply_products (
	product_id TEXT PRIMARY KEY,
	supplier_id TEXT NOT NULL,
	name TEXT NOT NULL,
	kind TEXT NOT NULL,
	version TEXT NOT NULL DEFAULT '',
	updated_at TEXT NOT NULL
);
CREATE INDEX supply_products_supplier ON supply_products (supplier_id);
CREATE TABLE supply_product_vulns (
	product_id TEXT NOT NULL,
	cve TEXT NOT NULL,
	component TEXT NOT NULL DEFAULT '',
	updated_at TEXT NOT NULL,
	PRIMARY KEY (product_id, cve)
);
CREATE INDEX supply_product_vulns_cve ON supply_product_vulns (cve);
CREATE TABLE supply_dependencies (
	product_id TEXT NOT NULL,
	depends_on_product_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	critical BOOLEAN NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (product_id, depends_on_product_id)
);
CREATE INDEX supply_dependencies_target ON supply_dependencies (depends_on_product_id);
CREATE TABLE supply_deployments (
	org_ods TEXT NOT NULL,
	product_id TEXT NOT NULL,
	service TEXT NOT NULL,
	criticality TEXT NOT NULL,
	has_fallback BOOLEAN NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (org_ods, product_id, service)
);
CREATE INDEX supply_deployments_product ON supply_deployments (product_id);
CREATE TABLE supply_contracts (
	contract_id TEXT PRIMARY KEY,
	org_ods TEXT NOT NULL,
	supplier_id TEXT NOT NULL,
	product_id TEXT NOT NULL DEFAULT '',
	start_date TEXT NOT NULL DEFAULT '',
	end_date TEXT NOT NULL DEFAULT '',
	value_gbp DOUBLE PRECISION NOT NULL DEFAULT 0,
	data_processed TEXT NOT NULL DEFAULT '',
	exit_plan TEXT NOT NULL DEFAULT '',
	substitutability TEXT NOT NULL DEFAULT '',
	updated_at TEXT NOT NULL
);
CREATE INDEX supply_contracts_org ON supply_contracts (org_ods);
CREATE INDEX supply_contracts_supplier ON supply_contracts (supplier_id);
-- One row per (snapshot, service, level, group, supplier): a later report
-- shows how market shares and HHI moved.
CREATE TABLE supply_concentration_snapshots (
	taken_at TEXT NOT NULL,
	service TEXT NOT NULL,
	level TEXT NOT NULL,
	group_code TEXT NOT NULL,
	supplier_id TEXT NOT NULL,
	organisations BIGINT NOT NULL,
	supplier_organisations DOUBLE PRECISION NOT NULL,
	share DOUBLE PRECISION NOT NULL,
	hhi DOUBLE PRECISION NOT NULL,
	PRIMARY KEY (taken_at, service, level, group_code, supplier_id)
);
CREATE INDEX supply_snapshots_series ON supply_concentration_snapshots (service, level, group_code, taken_at);
-- generation is bumped by every change, so each process knows when its
-- in-memory graph is stale.
CREATE TABLE supply_meta (
	id INTEGER PRIMARY KEY,
	generation BIGINT NOT NULL
);
INSERT INTO supply_meta (id, generation) VALUES (1, 0);
