-- Public disclosure (社会公示, scenario 5): the search index of disclosable certificates held by
-- enterprises, found by any part of the enterprise's name, and the window counters that limit
-- how often one client may search.
--
-- disclosure_names has one row per listed certificate: held here (a city's own permits) or
-- pushed to this node's index (a province's). norm is the name folded for search (full-width
-- to half-width, lower case, letters and digits only). A GIN index over each name's
-- overlapping two-character fragments (bigrams) finds candidates; disclosure_grams counts the
-- names each bigram occurs in, so a search asks for the rarest few and never for a fragment
-- such as 有限 that every name contains. No extension is needed (pg_trgm would work as well,
-- but cannot serve a two-character query such as 清源).

CREATE FUNCTION disclosure_bigrams(t TEXT) RETURNS TEXT[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(substr(t, i, 2)), '{}')
          FROM generate_series(1, char_length(t) - 1) AS i $$;

CREATE TABLE disclosure_names (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cert_id    TEXT NOT NULL UNIQUE,
    type_code  TEXT NOT NULL,
    name       TEXT NOT NULL,
    norm       TEXT NOT NULL,
    valid_from BIGINT NOT NULL
);
CREATE INDEX disclosure_names_grams ON disclosure_names USING gin (disclosure_bigrams(norm));

CREATE TABLE disclosure_grams (
    gram  TEXT PRIMARY KEY,
    names BIGINT NOT NULL
);

-- One row: taken by every writer of bigram counts first, so concurrent writers queue instead of
-- deadlocking on the counts; and whether the rows stored before this migration are listed yet.
CREATE TABLE disclosure_head (
    id         BIGINT PRIMARY KEY,
    changes    BIGINT NOT NULL,
    backfilled BIGINT NOT NULL
);
INSERT INTO disclosure_head (id, changes, backfilled) VALUES (1, 0, 0);

-- Searches per client and fixed window, shared by every process of the node.
CREATE TABLE rate_windows (
    bucket       TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_windows_start ON rate_windows (window_start);
