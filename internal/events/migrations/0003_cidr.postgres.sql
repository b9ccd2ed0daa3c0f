-- vigil_in_cidr(value, prefix) says whether a field's text is an address
-- inside prefix, false for anything that is not an address (an inet
-- cast would fail the whole query on the first such value). The query
-- language uses it for IPv6 prefixes (`src_ip=2001:db8::/32`); IPv4
-- prefixes keep their text-prefix form, which an index can serve.
CREATE OR REPLACE FUNCTION vigil_in_cidr(v text, p text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	IF v IS NULL OR v !~ '^[0-9A-Fa-f:.]{2,45}$' THEN
		RETURN false;
	END IF;
	BEGIN
		RETURN v::inet <<= p::cidr;
	EXCEPTION WHEN others THEN
		RETURN false;
	END;
END $$;
