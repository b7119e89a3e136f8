-- Writers' plans and their versions. Written once for SQLite and PostgreSQL alike: text, and
-- times as milliseconds since the Unix epoch.

CREATE TABLE plans (
    owner TEXT NOT NULL,
    id TEXT NOT NULL,
    title TEXT NOT NULL,
    template_id TEXT NOT NULL,
    template_name TEXT NOT NULL,
    enterprise_name TEXT NOT NULL,
    sections_done BIGINT NOT NULL,
    sections_total BIGINT NOT NULL,
    -- The plan as the writer left it (model::Plan as JSON).
    body TEXT NOT NULL,
    -- Raised by every change; a save names the revision it started from.
    revision BIGINT NOT NULL,
    -- The number the plan's last version took.
    last_version BIGINT NOT NULL,
    -- Bytes of its text and of all its versions' texts: what counts against the owner's space.
    stored_bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- Set when moved to the trash; the plan is gone for good some days later.
    deleted_at BIGINT,
    PRIMARY KEY (owner, id)
);

CREATE INDEX plans_by_update ON plans (owner, updated_at);
CREATE INDEX plans_in_trash ON plans (deleted_at);
-- Covers the sum of an owner's space: read without touching the plans' texts.
CREATE INDEX plans_space ON plans (owner, stored_bytes);

CREATE TABLE plan_versions (
    owner TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    -- auto (a generation), named (saved with a note), restore, conflict.
    kind TEXT NOT NULL,
    note TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner, plan_id, version),
    FOREIGN KEY (owner, plan_id) REFERENCES plans (owner, id) ON DELETE CASCADE
);

CREATE INDEX plan_versions_by_kind ON plan_versions (owner, plan_id, kind, version);
