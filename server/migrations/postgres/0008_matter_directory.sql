-- The province's matter directory (省级政务服务事项目录): matters handled at the counters of
-- other nodes in the province, with the materials an e-certificate replaces. The wallet offers
-- them when a holder names the matters of a grant; counters still open cases only for the
-- node's own `matters`.
CREATE TABLE matter_directory (
    code       TEXT PRIMARY KEY,
    region     TEXT NOT NULL,
    name       TEXT NOT NULL,
    department TEXT NOT NULL,
    materials  TEXT NOT NULL
);
