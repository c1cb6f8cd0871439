-- PostgreSQL mirror of sqlite/0008_library.sql.
-- Library extras (helper "accounts"): server-side sessions, so logging out ends a session for
-- good (a signed cookie alone would stay valid until it expires).
CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,         -- sha256 hex of the random session id in the cookie
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    last_seen_at TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- The library page lists a user's papers newest first.
CREATE INDEX IF NOT EXISTS user_papers_user_saved ON user_papers (user_id, saved, saved_at);
CREATE INDEX IF NOT EXISTS tags_user ON tags (user_id);
