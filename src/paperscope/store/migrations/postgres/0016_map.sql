-- PostgreSQL mirror of sqlite/0016_map.sql.
-- The 2-D map of the field (index/layout.py, docs/map.md): one position per paper, in the unit
-- square, and the tile it is first shown in (`level`: the coarsest zoom that draws it; `cell`:
-- that zoom's tile as one number). Like every index it is rebuilt from the vectors.
CREATE TABLE IF NOT EXISTS map_points (
    paper_rowid BIGINT PRIMARY KEY,
    x           DOUBLE PRECISION NOT NULL,
    y           DOUBLE PRECISION NOT NULL,
    level       INTEGER NOT NULL,
    cell        BIGINT  NOT NULL,
    placed      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS map_points_cell ON map_points (cell);

-- The layout the points come from: one row, replaced by each full rebuild.
CREATE TABLE IF NOT EXISTS map_state (
    id          INTEGER PRIMARY KEY CHECK (id = 0),
    model       TEXT    NOT NULL,
    method      TEXT    NOT NULL,
    papers      INTEGER NOT NULL,
    sample      INTEGER NOT NULL,
    deepest     INTEGER NOT NULL,
    tile_points INTEGER NOT NULL,
    seconds     DOUBLE PRECISION NOT NULL,
    built_at    TEXT    NOT NULL
);
