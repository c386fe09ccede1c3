-- Public disclosure (社会公示, scenario 5): the search index of disclosable certificates held by
-- enterprises, found by any part of the enterprise's name, and the window counters that limit
-- how often one client may search.
--
-- disclosure_names has one row per listed certificate: held here (a city's own permits) or
-- pushed to this node's index (a province's). norm is the name folded for search (full-width
-- to half-width, lower case, letters and digits only). disclosure_fts indexes each name's
-- overlapping two-character fragments (bigrams), written as 12 hexadecimal digits each so the
-- tokenizer sees plain ASCII words; it holds no text of its own. disclosure_grams counts the
-- names each bigram occurs in, so a search reads the rarest few and never a fragment such as
-- 有限 that every name contains.

CREATE TABLE disclosure_names (
    id         INTEGER PRIMARY KEY,
    cert_id    TEXT NOT NULL UNIQUE,
    type_code  TEXT NOT NULL,
    name       TEXT NOT NULL,
    norm       TEXT NOT NULL,
    valid_from BIGINT NOT NULL
);

CREATE VIRTUAL TABLE disclosure_fts USING fts5(
    grams, content = '', contentless_delete = 1, tokenize = 'ascii', detail = 'none'
);

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
