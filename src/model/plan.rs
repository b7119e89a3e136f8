//! A plan as the writer holds it in the browser: what it was asked with and every section as
//! it stands, edits included. Kept in `localStorage`, and sent as it is to be exported.

use serde::{Deserialize, Serialize};

use super::{
    check::{clause_rows, ClauseRow, CoveringSection},
    ElementSpec, EnterpriseData, FieldInput, PlanEvent, PlanSection, SectionStatus, TemplateView,
    MAX_CONTEXT_CHARS,
};

/// The most sections a plan can have; more is not a plan but a mistake.
pub const MAX_SECTIONS: usize = 50;
/// The most characters a section may hold (a generous page count, far above any model answer).
pub const MAX_SECTION_CHARS: usize = 50_000;
/// The most characters of a name, a title or the date.
pub const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Plan {
    /// Changes with every new plan, so answers for a replaced plan are dropped.
    #[serde(deserialize_with = "super::whole::u64")]
    pub run: u64,
    pub template_id: String,
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub template_name: String,
    pub context_section: Option<String>,
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub enterprise_name: String,
    /// The enterprise as it was when the plan started; sections written again use it.
    pub data: EnterpriseData,
    /// The enterprise profile the plan is written from, when it was made from one: its
    /// sections read the profile as it is when they are written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(pattern = "^[0-9a-f]{32}$"))]
    pub enterprise_id: Option<String>,
    #[cfg_attr(feature = "ssr", schema(max_items = 50))]
    pub sections: Vec<PlanSection>,
    /// The clauses of GB/T 29639-2020 this type of plan covers, in the standard's order.
    #[serde(default)]
    pub clauses: Vec<String>,
    /// Each section's elements of the standard, by position, to check edited text again.
    #[serde(default)]
    pub elements: Vec<Vec<ElementSpec>>,
    /// What the cover and the approval page print (GB/T 29639-2020 Annex C).
    #[serde(default)]
    pub meta: PlanMeta,
}

/// The plan's own particulars, filled in by the writer before exporting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PlanMeta {
    /// 应急预案编号.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub number: String,
    /// 应急预案版本号.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub version: String,
    /// 主要负责人, who approves the plan.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub principal: String,
}

impl Plan {
    pub fn new(template: &TemplateView, data: EnterpriseData, run: u64) -> Self {
        let enterprise_name = match data.enterprise_info.get("enterprise_name") {
            Some(FieldInput::Text(name)) => name.trim().to_owned(),
            _ => String::new(),
        };
        Self {
            run,
            template_id: template.id.clone(),
            template_name: template.name.clone(),
            context_section: template.context_section.clone(),
            enterprise_name,
            data,
            enterprise_id: None,
            sections: template
                .sections
                .iter()
                .map(|s| PlanSection::new(&s.id, &s.title))
                .collect(),
            clauses: template.clauses.clone(),
            meta: PlanMeta::default(),
            elements: template
                .sections
                .iter()
                .map(|s| s.elements.clone())
                .collect(),
        }
    }

    /// The writer's own text for section `index`, checked again against its elements.
    pub fn edit(&mut self, index: usize, text: String) {
        let elements = self.elements.get(index).cloned().unwrap_or_default();
        if let Some(s) = self.sections.get_mut(index) {
            s.edit(text, &elements);
        }
    }

    /// Every clause of the plan type: where it is covered, and whether it is there.
    pub fn self_check(&self) -> Vec<ClauseRow> {
        let sections: Vec<CoveringSection<'_>> = self
            .sections
            .iter()
            .zip(&self.elements)
            .map(|(s, elements)| CoveringSection {
                title: &s.section_title,
                elements,
                check: s.check.clone(),
            })
            .collect();
        clause_rows(&self.clauses, &sections)
    }

    /// A plan read back after a reload: a section this page was writing keeps its text and
    /// can be retried. Sections waiting stay so: the server writes them (a job).
    pub fn restored(mut self) -> Self {
        for s in &mut self.sections {
            if s.status == SectionStatus::Writing {
                s.fail(
                    "INTERRUPTED",
                    "页面刷新时该章节尚未写完，已保留已生成的部分，可点击“重试”",
                );
            }
        }
        self
    }

    /// Adds one event to its section.
    pub fn apply(&mut self, event: PlanEvent) {
        if let Some(s) = self
            .sections
            .iter_mut()
            .find(|s| s.section_id == event.section_id)
        {
            s.apply(event.event);
        }
    }

    pub fn done(&self) -> usize {
        self.sections
            .iter()
            .filter(|s| s.status == SectionStatus::Done)
            .count()
    }

    pub fn edited(&self) -> bool {
        self.sections.iter().any(|s| s.edited)
    }

    fn context_index(&self) -> Option<usize> {
        let id = self.context_section.as_ref()?;
        self.sections.iter().position(|s| &s.section_id == id)
    }

    /// What section `index` is given as context when written again: the context section's
    /// current text (edits included) once it is written, cut to what the server accepts.
    pub fn context_for(&self, index: usize) -> Option<String> {
        let at = self.context_index().filter(|at| *at != index)?;
        let s = self.sections.get(at)?;
        (s.status == SectionStatus::Done && !s.text().trim().is_empty())
            .then(|| s.text().trim().chars().take(MAX_CONTEXT_CHARS).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SectionEvent, SectionView};

    fn template() -> TemplateView {
        TemplateView {
            id: "emergency_plan".into(),
            name: "综合应急预案".into(),
            description: String::new(),
            fields: Vec::new(),
            sections: ["1", "2", "3"]
                .iter()
                .map(|id| SectionView {
                    id: (*id).into(),
                    title: format!("第{id}章"),
                    elements: vec![ElementSpec {
                        clause: format!("6.{id}"),
                        name: format!("要素{id}"),
                        signs: Vec::new(),
                    }],
                })
                .collect(),
            context_section: Some("2".into()),
            clauses: vec!["6.1".into(), "6.2".into(), "6.3".into()],
        }
    }

    #[test]
    fn the_self_check_follows_the_sections_and_their_edits() {
        let mut plan = Plan::new(&template(), EnterpriseData::default(), 1);
        let rows = plan.self_check();
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.present.is_none()));
        let check = crate::model::SectionCheck::of(&plan.elements[0], "第1章", "一、要素1\n内容");
        plan.apply(PlanEvent {
            section_id: "1".into(),
            event: SectionEvent::Text {
                text: "一、要素1\n内容".into(),
            },
        });
        plan.apply(PlanEvent {
            section_id: "1".into(),
            event: SectionEvent::Done {
                elapsed_ms: 1,
                check,
            },
        });
        let row = &plan.self_check()[0];
        assert_eq!(
            (row.clause.as_str(), row.section_title.as_str(), row.present),
            ("6.1", "第1章", Some(true))
        );
        plan.edit(0, "改写后没有那个小标题了".into());
        assert_eq!(plan.self_check()[0].present, Some(false));
        assert_eq!(plan.sections[0].check.as_ref().unwrap().missing, 1);
    }

    #[test]
    fn the_context_is_the_overview_as_it_stands() {
        let mut plan = Plan::new(&template(), EnterpriseData::default(), 1);
        assert_eq!(plan.context_for(0), None);
        for event in [
            SectionEvent::Text {
                text: "概况正文".into(),
            },
            SectionEvent::Done {
                elapsed_ms: 1,
                check: Default::default(),
            },
        ] {
            plan.apply(PlanEvent {
                section_id: "2".into(),
                event,
            });
        }
        assert_eq!(plan.context_for(0).as_deref(), Some("概况正文"));
        assert_eq!(plan.context_for(1), None);
        plan.sections[1].edit("x".repeat(MAX_CONTEXT_CHARS + 5), &[]);
        assert_eq!(
            plan.context_for(2).unwrap().chars().count(),
            MAX_CONTEXT_CHARS
        );
    }

    #[test]
    fn unfinished_sections_come_back_retryable() {
        let mut plan = Plan::new(&template(), EnterpriseData::default(), 1);
        plan.sections[0].begin();
        plan.apply(PlanEvent {
            section_id: "1".into(),
            event: SectionEvent::Text {
                text: "写了一半".into(),
            },
        });
        let plan = plan.restored();
        assert_eq!(plan.sections[0].text(), "写了一半");
        assert_eq!(plan.sections[0].status, SectionStatus::Failed);
        assert_eq!(plan.sections[1].status, SectionStatus::Waiting);
    }
}
