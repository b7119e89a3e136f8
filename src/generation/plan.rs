//! Every section of a plan in one go: the context section (企业概况) first, its text then given
//! to the others, which are written a few at a time. A section that fails is reported with its
//! error while the others complete; nothing written is thrown away.

use std::time::Instant;

use futures::StreamExt;
use serde::Serialize;

use super::{GenerateRequest, Generated, GenerationError, GenerationService};
use crate::domain::enterprise::EnterpriseInfo;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SectionFailure {
    pub code: &'static str,
    pub message: String,
}

/// One section of a plan: its text, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlanSection {
    pub section_id: String,
    pub section_title: String,
    pub content: Option<String>,
    pub cached: bool,
    pub stale: bool,
    pub error: Option<SectionFailure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlanOutcome {
    pub template_id: String,
    pub template_name: String,
    /// In template order.
    pub sections: Vec<PlanSection>,
    pub completed: usize,
    pub failed: usize,
    pub elapsed_ms: u64,
}

impl GenerationService {
    /// Writes every section of `req.template_id` for `req.data` (`section_id` is ignored). A bad
    /// template or bad enterprise data fails the whole request; a failing section does not.
    pub async fn generate_plan(
        &self,
        req: &GenerateRequest,
    ) -> Result<PlanOutcome, GenerationError> {
        self.generate_plan_with(req, self.plan_concurrency, &|_| {})
            .await
    }

    /// `generate_plan` with its own concurrency, telling `on_section` about each section as it
    /// settles (warm-up reports progress with it).
    pub async fn generate_plan_with(
        &self,
        req: &GenerateRequest,
        concurrency: usize,
        on_section: &(dyn Fn(&PlanSection) + Sync),
    ) -> Result<PlanOutcome, GenerationError> {
        let started = Instant::now();
        let template = self
            .registry
            .template(&req.template_id)
            .ok_or_else(|| GenerationError::UnknownTemplate(req.template_id.clone()))?;
        EnterpriseInfo::parse(template, &req.data).map_err(GenerationError::Invalid)?;
        let request = |section_id: &str, context: Option<String>| GenerateRequest {
            template_id: template.id.clone(),
            section_id: section_id.to_owned(),
            data: req.data.clone(),
            refresh: req.refresh,
            context,
        };
        let outcome = |id: &str, title: &str, result: Result<Generated, GenerationError>| {
            let (content, cached, stale, error) = match result {
                Ok(g) => (Some(g.content), g.cached, g.stale, None),
                Err(e) => (
                    None,
                    false,
                    false,
                    Some(SectionFailure {
                        code: e.code(),
                        message: e.to_string(),
                    }),
                ),
            };
            PlanSection {
                section_id: id.to_owned(),
                section_title: title.to_owned(),
                content,
                cached,
                stale,
                error,
            }
        };

        let mut sections: Vec<Option<PlanSection>> = vec![None; template.sections.len()];
        let mut context = None;
        let first = template.context_section.as_deref();
        if let Some((i, s)) = template
            .sections
            .iter()
            .enumerate()
            .find(|(_, s)| Some(s.id.as_str()) == first)
        {
            let result = self.generate(&request(&s.id, None)).await;
            context = result
                .as_ref()
                .ok()
                .map(|g| super::request::clip_context(&g.content));
            let settled = outcome(&s.id, &s.title, result);
            on_section(&settled);
            sections[i] = Some(settled);
        }
        // Owned, so the futures below do not borrow the iterator (their `Send` bound needs it).
        let jobs: Vec<(usize, GenerateRequest, String, String)> = template
            .sections
            .iter()
            .enumerate()
            .filter(|(_, s)| Some(s.id.as_str()) != first)
            .map(|(i, s)| {
                (
                    i,
                    request(&s.id, context.clone()),
                    s.id.clone(),
                    s.title.clone(),
                )
            })
            .collect();
        let rest: Vec<(usize, PlanSection)> = futures::stream::iter(jobs)
            .map(|(i, req, id, title)| async move {
                let settled = outcome(&id, &title, self.generate(&req).await);
                on_section(&settled);
                (i, settled)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for (i, section) in rest {
            sections[i] = Some(section);
        }
        let sections: Vec<PlanSection> = sections.into_iter().flatten().collect();
        let failed = sections.iter().filter(|s| s.error.is_some()).count();
        Ok(PlanOutcome {
            template_id: template.id.clone(),
            template_name: template.name.clone(),
            completed: sections.len() - failed,
            failed,
            sections,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }
}
