//! Every section of a plan: the context section (企业概况) first, its text then given to the
//! others, which are written a few at a time. This is the one place a whole plan is put
//! together — the JSON plan API, the generator page and the dashboard warm-up all read its
//! events. A section that fails is reported with its error while the others complete.

use std::{pin::Pin, sync::Arc, time::Instant};

use futures::{stream, Stream, StreamExt};

use super::{
    request::clip_context,
    stream::{Reader, SectionEvents},
    Generated, GenerationService, PlanRequest, SectionRequest,
};
use crate::{
    model::{PlanEvent, PlanOutcome, PlanSection, SectionEvent, SectionStatus},
    templates::Template,
};

pub type PlanEvents = Pin<Box<dyn Stream<Item = PlanEvent> + Send>>;

/// How each section of a plan is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writing {
    /// In one piece, sharing a model call with identical requests in this process (as
    /// `/api/ai/generate` does): the JSON plan API and warm-up.
    Whole,
    /// Streamed as the model writes it: the generator page.
    Streamed,
}

/// A plan before any section is written: every section waiting, in template order.
pub fn outcome(template: &Template) -> PlanOutcome {
    PlanOutcome {
        template_id: template.id.clone(),
        template_name: template.name.clone(),
        sections: template
            .sections
            .iter()
            .map(|s| PlanSection::new(&s.id, &s.title))
            .collect(),
        completed: 0,
        failed: 0,
        elapsed_ms: 0,
    }
}

impl GenerationService {
    /// How many sections of one plan are written at the same time.
    pub fn plan_concurrency(&self) -> usize {
        self.plan_concurrency
    }

    /// Writes every section of a plan and returns them all once settled.
    pub async fn generate_plan(self: &Arc<Self>, plan: PlanRequest) -> PlanOutcome {
        let started = Instant::now();
        let mut result = outcome(&plan.template);
        let mut events = self.plan_events(plan, Writing::Whole, self.plan_concurrency);
        while let Some(event) = events.next().await {
            result.apply(event);
        }
        result.elapsed_ms = started.elapsed().as_millis() as u64;
        result
    }

    /// Every section of `plan` as events, each tagged with its section: the context section's
    /// to the end first, then the others' interleaved, `concurrency` sections at a time. The
    /// plan is written by its own task, so a reader who leaves does not waste what is being
    /// written: it is still cached.
    pub fn plan_events(
        self: &Arc<Self>,
        plan: PlanRequest,
        writing: Writing,
        concurrency: usize,
    ) -> PlanEvents {
        let (mut reader, events) = Reader::new();
        let service = self.clone();
        self.spawn(async move {
            let template = plan.template.clone();
            let wanted = |i: usize| plan.only.as_ref().is_none_or(|only| only.contains(&i));
            let first = template
                .context_section
                .as_deref()
                .and_then(|id| template.sections.iter().position(|s| s.id == id))
                .filter(|i| wanted(*i));
            let mut context = plan.context.clone();
            if let Some(i) = first.filter(|_| !plan.stop.is_cancelled()) {
                let mut overview = PlanSection::new(&template.sections[i].id, "");
                let mut events = service.section_events(plan.section(i, None), writing).await;
                while let Some(event) = events.next().await {
                    overview.apply(event.clone());
                    reader.send(tagged(&overview.section_id, event)).await;
                }
                context = (overview.status == SectionStatus::Done)
                    .then(|| clip_context(overview.text()))
                    .filter(|c| !c.is_empty());
            }
            let stop = plan.stop.clone();
            // Taken one at a time as places free up: a section not yet started when `stop` is
            // cancelled is not started.
            let rest = (0..template.sections.len())
                .filter(|i| Some(*i) != first && wanted(*i))
                .take_while(move |_| !stop.is_cancelled())
                .map(|i| {
                    let service = service.clone();
                    let request = plan.section(i, context.clone());
                    let id = template.sections[i].id.clone();
                    Box::pin(
                        stream::once(async move {
                            service
                                .section_events(request, writing)
                                .await
                                .map(move |event| tagged(&id, event))
                        })
                        .flatten(),
                    )
                });
            let mut merged = stream::iter(rest).flatten_unordered(concurrency.max(1));
            while let Some(event) = merged.next().await {
                reader.send(event).await;
            }
        });
        events
    }

    /// One section's events; a failure is its `error` event.
    async fn section_events(&self, request: SectionRequest, writing: Writing) -> SectionEvents {
        let events = match writing {
            Writing::Streamed => self.stream(&request).await,
            Writing::Whole => self.generate(&request).await.map(whole),
        };
        events.unwrap_or_else(|e| {
            Box::pin(stream::iter([SectionEvent::Error {
                code: e.code().as_str().to_owned(),
                message: e.to_string(),
            }]))
        })
    }
}

fn tagged(section_id: &str, event: SectionEvent) -> PlanEvent {
    PlanEvent {
        section_id: section_id.to_owned(),
        event,
    }
}

/// A section written in one piece, as the events a stream of it would have carried.
fn whole(generated: Generated) -> SectionEvents {
    Box::pin(stream::iter([
        SectionEvent::Start {
            template_id: generated.template_id,
            section_id: generated.section_id,
            section_title: generated.section_title,
            model: generated.model,
            cached: generated.cached,
            stale: generated.stale,
        },
        SectionEvent::Text {
            text: generated.content.to_string(),
        },
        SectionEvent::Done {
            elapsed_ms: generated.elapsed_ms,
            check: Arc::unwrap_or_clone(generated.check),
        },
    ]))
}
