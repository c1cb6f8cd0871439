-- The personal layer: accounts, libraries, ratings, upvotes, submissions, follows and digests.
-- Papers are referenced by rowid (stable: merges keep the surviving row); deleting a user
-- deletes everything of theirs (foreign keys with ON DELETE CASCADE, enforced per connection).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT,                      -- argon2id; NULL = cannot log in with a password
    display_name  TEXT    NOT NULL DEFAULT '',
    is_admin      INTEGER NOT NULL DEFAULT 0,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL,
    digest        TEXT    NOT NULL DEFAULT 'daily' CHECK (digest IN ('daily', 'weekly', 'off')),
    last_digest_at TEXT,                     -- ISO 8601 UTC of the last digest accepted by SMTP
    settings      TEXT    NOT NULL DEFAULT '{}'   -- JSON
);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT    NOT NULL UNIQUE,     -- sha256 hex of the token; the token is shown once
    name        TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    last_used_at TEXT
);

CREATE TABLE password_resets (
    token_hash  TEXT    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  TEXT    NOT NULL,
    used_at     TEXT
);

-- Failed logins per key ("email:x", "ip:y") for throttling; old rows are pruned on write.
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  TEXT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);

-- One row per (user, paper) the user did anything with.
CREATE TABLE user_papers (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    paper_rowid INTEGER NOT NULL,
    saved       INTEGER NOT NULL DEFAULT 0,  -- in the library (with or without tags)
    rating      INTEGER NOT NULL DEFAULT 0 CHECK (rating IN (-1, 0, 1)),  -- thumbs down/up
    note        TEXT    NOT NULL DEFAULT '',
    read_at     TEXT,
    saved_at    TEXT,
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (user_id, paper_rowid)
) WITHOUT ROWID;
CREATE INDEX user_papers_paper ON user_papers (paper_rowid);

CREATE TABLE tags (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name    TEXT    NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE paper_tags (
    tag_id      INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    paper_rowid INTEGER NOT NULL,
    added_at    TEXT    NOT NULL,
    PRIMARY KEY (tag_id, paper_rowid)
) WITHOUT ROWID;

-- Local upvotes: one per user per paper.
CREATE TABLE upvotes (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    paper_rowid INTEGER NOT NULL,
    at          TEXT    NOT NULL,
    PRIMARY KEY (user_id, paper_rowid)
) WITHOUT ROWID;
CREATE INDEX upvotes_paper ON upvotes (paper_rowid);

-- Community submissions: a paper is featured once, on the day it was submitted.
CREATE TABLE submissions (
    id           INTEGER PRIMARY KEY,
    paper_rowid  INTEGER NOT NULL UNIQUE,
    user_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    day          TEXT    NOT NULL,           -- YYYY-MM-DD (UTC) of the feed it is featured on
    submitted_at TEXT    NOT NULL,
    hidden       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX submissions_day ON submissions (day);

-- Alerts: followed authors, saved queries, followed categories, seed papers.
CREATE TABLE follows (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('author', 'query', 'category', 'paper')),
    value      TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    UNIQUE (user_id, kind, value)
);

-- Digest outbox: composed and recorded in one transaction with the papers it carries, marked
-- sent only after the SMTP server accepted it; a pending row is re-sent (same Message-ID).
CREATE TABLE digests (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    message_id      TEXT    NOT NULL UNIQUE,
    message         BLOB    NOT NULL,        -- the whole RFC 5322 message as composed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT,
    sent_at         TEXT
);
CREATE INDEX digests_status ON digests (status, next_attempt_at);

-- Papers a user has been sent (or has pending in an unsent digest): never sent twice.
CREATE TABLE digest_papers (
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    paper_rowid INTEGER NOT NULL,
    digest_id   INTEGER NOT NULL REFERENCES digests (id) ON DELETE CASCADE,
    reason      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, paper_rowid)
) WITHOUT ROWID;

-- Server-side secrets generated on first use (session signing key), never in the repo.
CREATE TABLE secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
