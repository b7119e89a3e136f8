-- One row per writer, written at the start of every transaction that changes what they keep:
-- on PostgreSQL the row's lock makes one writer's transactions take turns, so the limits on
-- their plans and space are checked against what the others committed.
CREATE TABLE plan_owners (
    owner TEXT PRIMARY KEY,
    writes BIGINT NOT NULL
);
