-- The 2-D map of the field (index/layout.py, docs/map.md): one position per paper, in the unit
-- square, and the tile it is first shown in. Tiles split the square in 4 at each zoom level;
-- `level` is the coarsest zoom at which the point is drawn and `cell` that zoom's tile as one
-- number ((4^level - 1) / 3 + ty * 2^level + tx), so a request reads the few cells above its
-- viewport instead of scanning coordinates. Like every index it is rebuilt from the vectors.
CREATE TABLE map_points (
    paper_rowid INTEGER PRIMARY KEY,
    x           REAL    NOT NULL,
    y           REAL    NOT NULL,
    level       INTEGER NOT NULL,
    cell        BIGINT  NOT NULL,
    placed      INTEGER NOT NULL DEFAULT 0   -- 1: placed from its neighbours after the build
);
CREATE INDEX map_points_cell ON map_points (cell);

-- The layout the points come from: one row, replaced by each full rebuild.
CREATE TABLE map_state (
    id          INTEGER PRIMARY KEY CHECK (id = 0),
    model       TEXT    NOT NULL,
    method      TEXT    NOT NULL,
    papers      INTEGER NOT NULL,   -- points the build laid out
    sample      INTEGER NOT NULL,   -- of which laid out by the method itself, the rest placed
    deepest     INTEGER NOT NULL,   -- deepest tile level in use
    tile_points INTEGER NOT NULL,   -- most points a tile shows at its own zoom
    seconds     REAL    NOT NULL,
    built_at    TEXT    NOT NULL
);
