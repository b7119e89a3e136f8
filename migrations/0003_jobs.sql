-- Whole-plan generation as a job the server runs: one row per job, taken by one instance at a
-- time under a lease it renews; another instance takes it over once the lease has lapsed.

CREATE TABLE plan_jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    -- queued, running, waiting_for_quota, cancelling, done, failed, cancelled.
    state TEXT NOT NULL,
    -- The section ids asked for, as a JSON array, in the template's order.
    sections TEXT NOT NULL,
    -- Sections settled so far (JSON arrays of ids): saved with text, failed, and kept as the
    -- writer edited them (the generated text went to a version instead).
    done TEXT NOT NULL,
    failed TEXT NOT NULL,
    skipped TEXT NOT NULL,
    -- Each section's text when the job began, as a digest (a JSON object by id): a section
    -- whose text differs when its new text comes was edited meanwhile, and the edit wins.
    bases TEXT NOT NULL,
    -- Write sections again even when they are done.
    force_all BIGINT NOT NULL,
    -- The client's Idempotency-Key, when it sent one.
    idempotency_key TEXT,
    -- The instance running the job and until when its claim holds (ms since the epoch).
    lease_holder TEXT,
    lease_until BIGINT,
    -- When a job waiting for its owner's quota is tried again.
    resume_at BIGINT,
    -- Why it failed or waits, in the writer's language.
    message TEXT,
    -- The id of the job's first event in the plan's event log.
    first_event TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    FOREIGN KEY (owner, plan_id) REFERENCES plans (owner, id) ON DELETE CASCADE
);

CREATE INDEX plan_jobs_by_plan ON plan_jobs (owner, plan_id, created_at);
CREATE INDEX plan_jobs_by_state ON plan_jobs (state, lease_until);
-- One unfinished job per plan.
CREATE UNIQUE INDEX plan_jobs_one_open ON plan_jobs (owner, plan_id)
    WHERE state IN ('queued', 'running', 'waiting_for_quota', 'cancelling');
CREATE UNIQUE INDEX plan_jobs_by_key ON plan_jobs (owner, plan_id, idempotency_key);
