-- Enterprise profiles (企业档案): the site's own facts, which every plan of the enterprise is
-- written from and checked against. Each user's own, like plans.

CREATE TABLE enterprises (
    owner TEXT NOT NULL,
    id TEXT NOT NULL,
    -- The enterprise's name, for lists (from the profile's basics).
    name TEXT NOT NULL,
    -- The profile (model::profile::Profile as JSON).
    body TEXT NOT NULL,
    -- Raised by every change; a save names the revision it started from.
    revision BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (owner, id)
);

CREATE INDEX enterprises_by_update ON enterprises (owner, updated_at);
