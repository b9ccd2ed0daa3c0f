-- Map boundaries for the supply-chain choropleths: one row per ICB, NHS
-- England region or sub-ICB location, keyed by its ODS code (the code the
-- organisation tree uses), with simplified polygons as JSON
-- ([polygon][ring][point] of [longitude, latitude], WGS84). Loaded from the
-- ONS GeoJSON by ImportGeoJSON; the files themselves are not shipped.
CREATE TABLE geo_boundaries (
	level TEXT NOT NULL,
	code TEXT NOT NULL,
	name TEXT NOT NULL,
	ons_code TEXT NOT NULL DEFAULT '',
	parent TEXT NOT NULL DEFAULT '',
	label_lon DOUBLE PRECISION NOT NULL DEFAULT 0,
	label_lat DOUBLE PRECISION NOT NULL DEFAULT 0,
	geometry TEXT NOT NULL,
	points INTEGER NOT NULL,
	source TEXT NOT NULL DEFAULT '',
	imported_at TEXT NOT NULL,
	PRIMARY KEY (level, code)
);
