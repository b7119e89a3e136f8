//! A section being written, as events, and what the events add up to. The server sends the
//! events (the API's Server-Sent Events, the pages' streams), the browser and the plan API
//! reduce them with the same `apply`, so a section looks the same wherever it is shown.

use serde::{Deserialize, Serialize};

/// One step of a section being written: `start`, any number of `text`, then `done` or `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SectionEvent {
    /// What is being written and where it comes from.
    Start {
        template_id: String,
        section_id: String,
        section_title: String,
        model: String,
        cached: bool,
        /// An expired entry served because the model failed.
        stale: bool,
    },
    /// The next piece of text.
    Text { text: String },
    /// The section is complete (and cached, when it was new and covers every element of the
    /// standard it must), with its check against the standard.
    Done {
        elapsed_ms: u64,
        #[serde(default)]
        check: super::SectionCheck,
    },
    /// The section failed; any text received before stays valid but incomplete, and nothing
    /// was cached.
    Error { code: String, message: String },
}

impl SectionEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Start { .. } => "start",
            Self::Text { .. } => "text",
            Self::Done { .. } => "done",
            Self::Error { .. } => "error",
        }
    }

    /// Whether the section ends with this event.
    pub fn is_last(&self) -> bool {
        matches!(self, Self::Done { .. } | Self::Error { .. })
    }
}

/// An event of one section of a plan that is written as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanEvent {
    pub section_id: String,
    pub event: SectionEvent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SectionStatus {
    Waiting,
    Writing,
    Done,
    Failed,
}

impl SectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Writing => "writing",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Waiting => "等待中",
            Self::Writing => "正在编写…",
            Self::Done => "已完成",
            Self::Failed => "失败",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SectionFailure {
    #[cfg_attr(feature = "ssr", schema(example = "AI_UPSTREAM_ERROR"))]
    pub code: String,
    pub message: String,
}

/// A section of a plan (or the one section being written): its text so far and how it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanSection {
    pub section_id: String,
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub section_title: String,
    /// The text; null when none was written (a section that failed before its first piece).
    #[cfg_attr(feature = "ssr", schema(max_length = 50000))]
    pub content: Option<String>,
    pub status: SectionStatus,
    pub cached: bool,
    /// An expired answer, served because the model failed.
    pub stale: bool,
    #[serde(default)]
    pub model: String,
    #[serde(default, deserialize_with = "super::whole::option_u64")]
    pub elapsed_ms: Option<u64>,
    pub error: Option<SectionFailure>,
    /// The text held against the standard's elements (once complete).
    #[serde(default)]
    pub check: Option<super::SectionCheck>,
    /// What the check against the enterprise's profile found (plans made from a profile),
    /// as of when the plan was read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<super::finding::FactFinding>,
    /// Changed by the writer in the browser since it was written.
    #[serde(default, skip_serializing_if = "is_false")]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    pub edited: bool,
    /// Whether the current attempt has sent text yet: until it has, the previous text stays.
    #[serde(skip)]
    #[cfg_attr(feature = "ssr", schema(ignore))]
    fresh: bool,
}

fn is_false(b: &bool) -> bool {
    !b
}

impl PlanSection {
    pub fn new(section_id: &str, section_title: &str) -> Self {
        Self {
            section_id: section_id.to_owned(),
            section_title: section_title.to_owned(),
            content: None,
            status: SectionStatus::Waiting,
            cached: false,
            stale: false,
            model: String::new(),
            elapsed_ms: None,
            error: None,
            check: None,
            facts: Vec::new(),
            edited: false,
            fresh: false,
        }
    }

    /// Marks a new attempt: writing, no error; the old text stays until new text arrives.
    pub fn begin(&mut self) {
        self.status = SectionStatus::Writing;
        self.error = None;
        // The new attempt is checked when it is done; the old check was the old text's.
        self.check = None;
        self.fresh = false;
    }

    /// Adds one event of the section's stream.
    pub fn apply(&mut self, event: SectionEvent) {
        match event {
            SectionEvent::Start {
                section_title,
                model,
                cached,
                stale,
                ..
            } => {
                self.begin();
                self.section_title = section_title;
                self.model = model;
                self.cached = cached;
                self.stale = stale;
            }
            SectionEvent::Text { text } => {
                let content = self.content.get_or_insert_with(String::new);
                if !self.fresh {
                    self.fresh = true;
                    content.clear();
                    self.edited = false;
                }
                content.push_str(&text);
            }
            SectionEvent::Done { elapsed_ms, check } => {
                if let Some(content) = &mut self.content {
                    *content = content.trim().to_owned();
                }
                self.status = SectionStatus::Done;
                self.elapsed_ms = Some(elapsed_ms);
                self.check = Some(check);
            }
            SectionEvent::Error { code, message } => self.fail(&code, &message),
        }
    }

    /// Ends the current attempt as failed; the text so far stays.
    pub fn fail(&mut self, code: &str, message: &str) {
        self.status = SectionStatus::Failed;
        self.error = Some(SectionFailure {
            code: code.to_owned(),
            message: message.to_owned(),
        });
    }

    /// The text, or nothing.
    pub fn text(&self) -> &str {
        self.content.as_deref().unwrap_or_default()
    }

    /// The writer's own text replaces the section's; its check is made again against
    /// `elements`.
    pub fn edit(&mut self, text: String, elements: &[super::ElementSpec]) {
        if self.check.is_some() {
            self.check = Some(super::SectionCheck::of(
                elements,
                &self.section_title,
                &text,
            ));
        }
        self.content = Some(text);
        self.edited = true;
    }

    pub fn is_settled(&self) -> bool {
        matches!(self.status, SectionStatus::Done | SectionStatus::Failed)
    }
}

/// Every section of a plan, in template order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanOutcome {
    #[cfg_attr(feature = "ssr", schema(example = "emergency_plan"))]
    pub template_id: String,
    #[cfg_attr(feature = "ssr", schema(example = "综合应急预案"))]
    pub template_name: String,
    /// In template order.
    pub sections: Vec<PlanSection>,
    pub completed: usize,
    pub failed: usize,
    pub elapsed_ms: u64,
}

impl PlanOutcome {
    /// Adds one event to the section it belongs to.
    pub fn apply(&mut self, event: PlanEvent) {
        let Some(section) = self
            .sections
            .iter_mut()
            .find(|s| s.section_id == event.section_id)
        else {
            return;
        };
        section.apply(event.event);
        self.completed = self
            .sections
            .iter()
            .filter(|s| s.status == SectionStatus::Done)
            .count();
        self.failed = self
            .sections
            .iter()
            .filter(|s| s.status == SectionStatus::Failed)
            .count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> SectionEvent {
        SectionEvent::Start {
            template_id: "t".into(),
            section_id: "2".into(),
            section_title: "企业概况".into(),
            model: "mock".into(),
            cached: false,
            stale: false,
        }
    }

    fn text(t: &str) -> SectionEvent {
        SectionEvent::Text { text: t.into() }
    }

    #[test]
    fn events_add_up_to_a_section() {
        let mut s = PlanSection::new("2", "企业概况");
        for e in [
            start(),
            text("本公司"),
            text("位于某地\n"),
            SectionEvent::Done {
                elapsed_ms: 5,
                check: Default::default(),
            },
        ] {
            s.apply(e);
        }
        assert_eq!(s.content.as_deref(), Some("本公司位于某地"));
        assert_eq!(s.status, SectionStatus::Done);
        assert_eq!(s.elapsed_ms, Some(5));
    }

    #[test]
    fn a_new_attempt_keeps_the_old_text_until_new_text_comes() {
        let mut s = PlanSection::new("2", "企业概况");
        s.apply(text("旧的"));
        s.edit("改过的".into(), &[]);
        s.apply(start());
        assert_eq!(s.text(), "改过的");
        s.apply(SectionEvent::Error {
            code: "AI_TIMEOUT".into(),
            message: "超时".into(),
        });
        assert_eq!(s.text(), "改过的");
        assert_eq!(s.status, SectionStatus::Failed);
        s.apply(start());
        s.apply(text("新的"));
        assert_eq!(s.text(), "新的");
        assert!(!s.edited);
    }

    #[test]
    fn a_failure_before_any_text_leaves_no_content() {
        let mut s = PlanSection::new("6", "应急响应");
        s.apply(SectionEvent::Error {
            code: "AI_UPSTREAM_ERROR".into(),
            message: "AI 服务暂时不可用".into(),
        });
        let json = serde_json::to_value(&s).unwrap();
        assert!(json["content"].is_null());
        assert_eq!(json["error"]["code"], "AI_UPSTREAM_ERROR");
        assert_eq!(json["status"], "failed");
        assert!(json.get("edited").is_none());
    }

    #[test]
    fn plan_events_travel_and_come_back_whole() {
        for event in [
            start(),
            text("风险"),
            SectionEvent::Done {
                elapsed_ms: 1,
                check: Default::default(),
            },
        ] {
            let event = PlanEvent {
                section_id: "2".into(),
                event,
            };
            let json = serde_json::to_string(&event).unwrap();
            assert_eq!(
                serde_json::from_str::<PlanEvent>(&json).unwrap(),
                event,
                "{json}"
            );
        }
    }
}
