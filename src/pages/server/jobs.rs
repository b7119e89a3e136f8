//! The plan written by the server, as the generator page starts, follows and stops it. Each
//! is scoped to the door's user.

use axum::body::Bytes;
use futures::Stream;

use super::{ndjson, Door};
use crate::{
    admission::with_deadline,
    model::{AppError, JobRequest, JobStarted, NewPlan, PlanJob},
    plans::StoreError,
};

type Result<T> = std::result::Result<T, AppError>;

impl Door {
    /// Saves the page's new plan (or takes the one saved under its id) and has the server
    /// write the sections `request` asks for; the job already running on it, if there is one.
    pub async fn start_job(&self, new: NewPlan, request: JobRequest) -> Result<JobStarted> {
        let owner: &str = &self.user.name;
        let Some(id) = new.id.clone() else {
            return Err(StoreError::NotFound.into());
        };
        let saved = match self.state.plans.create(owner, new).await {
            Ok(saved) => saved,
            Err(StoreError::Conflict(current)) => *current,
            Err(e) => return Err(e.into()),
        };
        let jobs = &self.state.jobs;
        let job = match jobs.generate(owner, &id, request, None).await {
            Ok((job, _)) => job,
            Err(StoreError::JobRunning(job)) => *job,
            Err(e) => return Err(e.into()),
        };
        Ok(JobStarted {
            revision: saved.revision,
            updated_at: saved.updated_at,
            job,
        })
    }

    /// Stops the plan's job once the sections in flight are saved.
    pub async fn cancel_job(&self, id: &str) -> Result<PlanJob> {
        self.state.jobs.cancel(&self.user.name, id).await
    }

    /// The events of the plan's open job as newline-delimited JSON, from after `last` when
    /// the page reconnects, to the event that says it ended (or the stream deadline).
    pub async fn follow_plan(
        &self,
        id: &str,
        last: Option<String>,
    ) -> Result<impl Stream<Item = std::result::Result<Bytes, AppError>> + Send + 'static> {
        let state = &self.state;
        let events = state
            .jobs
            .follow(&self.user.name, id, last.as_deref())
            .await?;
        let events = with_deadline(
            events,
            state.stream_deadline,
            state.last_call.clone(),
            |_| None,
        );
        Ok(ndjson(events))
    }
}
