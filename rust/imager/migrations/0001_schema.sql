-- One schema for SQLite and PostgreSQL: only TEXT, BIGINT and DOUBLE PRECISION columns,
-- times as Unix seconds (the Any driver maps these the same way on both).
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    email TEXT,
    created BIGINT NOT NULL
);

-- API tokens and browser sessions, by the sha256 of the secret (never the secret).
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);

CREATE TABLE configurations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hotspot TEXT NOT NULL,
    lock TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);

-- An order is also its build job: `lease_id` is the id the claiming worker uses, new at
-- every claim, so a worker whose lease was taken over can never touch the job again.
CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    configuration TEXT,
    name TEXT NOT NULL,
    module TEXT NOT NULL,
    lock TEXT NOT NULL,
    state TEXT NOT NULL,
    step TEXT,
    progress DOUBLE PRECISION,
    attempts BIGINT NOT NULL,
    lease_id TEXT UNIQUE,
    lease_until BIGINT,
    worker TEXT,
    sha256 TEXT,
    size BIGINT,
    error TEXT,
    storage_key TEXT,
    expires BIGINT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX orders_queue ON orders (state, created);
CREATE INDEX orders_owner ON orders (owner);

CREATE TABLE workers (
    name TEXT PRIMARY KEY,
    last_seen BIGINT NOT NULL
);
