//! The whole plan on the generator page: every section of the chosen template written in turn
//! (the context section first, its text then given to the others), streamed into an editable
//! text box as the model writes, kept in `localStorage` so nothing is lost on reload, and
//! exported to Word or Markdown.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{
    browser,
    model::{SectionEvent, TemplateView},
};

const PLAN_KEY: &str = "yueen.plan.v1";
/// Sections written at the same time after the context section.
const CONCURRENCY: usize = 3;
/// The server's limit on a context (`generation::request::MAX_CONTEXT_CHARS`).
const MAX_CONTEXT_CHARS: usize = 8_000;

#[server(
    prefix = "/fn",
    input = leptos::server_fn::codec::Json,
    output = leptos::server_fn::codec::Streaming
)]
pub async fn stream_section(
    template_id: String,
    section_id: String,
    fields: BTreeMap<String, String>,
    refresh: bool,
    context: Option<String>,
) -> Result<leptos::server_fn::codec::ByteStream, ServerFnError> {
    crate::web::viewer::require_login()?;
    let state = expect_context::<crate::state::AppState>();
    let events = crate::web::views::stream_section(
        &state.generation,
        crate::web::views::SectionCall {
            template_id,
            section_id,
            fields,
            refresh,
            context,
        },
    )
    .await;
    Ok(leptos::server_fn::codec::ByteStream::new(events))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Waiting,
    Writing,
    Done,
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::Writing => "writing",
            Status::Done => "done",
            Status::Failed => "failed",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Status::Waiting => "等待中",
            Status::Writing => "正在编写…",
            Status::Done => "已完成",
            Status::Failed => "失败",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSection {
    pub id: String,
    pub title: String,
    pub content: String,
    pub status: Status,
    pub edited: bool,
    pub cached: bool,
    /// An expired answer, served because the model failed.
    #[serde(default)]
    pub stale: bool,
    pub error: Option<String>,
}

/// A plan being written or written: what it was asked with, and every section's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Changes with every new plan, so answers for a replaced plan are dropped.
    pub run: u64,
    pub template_id: String,
    pub template_name: String,
    pub context_section: Option<String>,
    pub enterprise_name: String,
    pub fields: BTreeMap<String, String>,
    pub sections: Vec<PlanSection>,
}

impl Plan {
    pub fn new(template: &TemplateView, fields: BTreeMap<String, String>, run: u64) -> Self {
        Self {
            run,
            template_id: template.id.clone(),
            template_name: template.name.clone(),
            context_section: template.context_section.clone(),
            enterprise_name: fields.get("enterprise_name").cloned().unwrap_or_default(),
            fields,
            sections: template
                .sections
                .iter()
                .map(|s| PlanSection {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    content: String::new(),
                    status: Status::Waiting,
                    edited: false,
                    cached: false,
                    stale: false,
                    error: None,
                })
                .collect(),
        }
    }

    /// A plan read back after a reload: sections that were still being written keep their
    /// text and can be retried.
    fn restored(mut self) -> Self {
        for s in &mut self.sections {
            let message = match s.status {
                Status::Waiting => "页面刷新时该章节尚未开始生成，可点击“重试”",
                Status::Writing => "页面刷新时该章节尚未写完，已保留已生成的部分，可点击“重试”",
                Status::Done | Status::Failed => continue,
            };
            s.status = Status::Failed;
            s.error = Some(message.into());
        }
        self
    }

    fn done(&self) -> usize {
        self.sections
            .iter()
            .filter(|s| s.status == Status::Done)
            .count()
    }

    fn edited(&self) -> bool {
        self.sections.iter().any(|s| s.edited)
    }

    fn busy(&self) -> bool {
        self.sections
            .iter()
            .any(|s| matches!(s.status, Status::Waiting | Status::Writing))
    }

    fn context_index(&self) -> Option<usize> {
        let id = self.context_section.as_ref()?;
        self.sections.iter().position(|s| &s.id == id)
    }

    /// What section `index` is given as context: the context section's current text (edits
    /// included) once it is written, cut to what the server accepts.
    fn context_for(&self, index: usize) -> Option<String> {
        let at = self.context_index().filter(|at| *at != index)?;
        let s = self.sections.get(at)?;
        (s.status == Status::Done && !s.content.trim().is_empty())
            .then(|| s.content.trim().chars().take(MAX_CONTEXT_CHARS).collect())
    }

    /// The plan as the export endpoints read it; sections without text are left out.
    fn export_json(&self) -> String {
        let sections: Vec<_> = self
            .sections
            .iter()
            .filter(|s| !s.content.trim().is_empty())
            .map(|s| {
                // A section that failed part-way is exported, marked, so nothing is lost
                // and nobody files it unread.
                let content = if s.status == Status::Done {
                    s.content.clone()
                } else {
                    format!("{}\n\n【本章未完整生成，请核对补充】", s.content.trim_end())
                };
                serde_json::json!({ "title": s.title, "content": content })
            })
            .collect();
        serde_json::json!({
            "enterprise_name": self.enterprise_name,
            "plan_title": self.template_name,
            "date": "",
            "sections": sections,
        })
        .to_string()
    }
}

/// The plan on this page, shared by the form (which starts it) and the panel.
#[derive(Clone, Copy)]
pub struct PlanStore {
    plan: RwSignal<Option<Plan>>,
}

impl Default for PlanStore {
    fn default() -> Self {
        Self::new()
    }
}

impl PlanStore {
    /// Reads the saved plan once hydrated and saves every change after.
    pub fn new() -> Self {
        let plan = RwSignal::new(None::<Plan>);
        let loaded = RwSignal::new(false);
        Effect::new(move |_| {
            if let Some(saved) =
                browser::load(PLAN_KEY).and_then(|s| serde_json::from_str::<Plan>(&s).ok())
            {
                plan.set(Some(saved.restored()));
            }
            loaded.set(true);
        });
        Effect::new(move |_| {
            let json = plan.with(|p| p.as_ref().and_then(|p| serde_json::to_string(p).ok()));
            if loaded.get() {
                if let Some(json) = json {
                    browser::save(PLAN_KEY, &json);
                }
            }
        });
        Self { plan }
    }

    pub fn busy(&self) -> Signal<bool> {
        let plan = self.plan;
        Signal::derive(move || plan.with(|p| p.as_ref().is_some_and(Plan::busy)))
    }

    /// Starts a new plan for `template` and `fields`, after asking when edits would be lost.
    pub fn start(&self, template: &TemplateView, fields: BTreeMap<String, String>) {
        let edited = self
            .plan
            .with_untracked(|p| p.as_ref().is_some_and(Plan::edited));
        if edited && !browser::confirm("重新生成整份预案会覆盖您编辑过的章节，是否继续？")
        {
            return;
        }
        let run = self
            .plan
            .with_untracked(|p| p.as_ref().map_or(1, |p| p.run + 1));
        self.plan.set(Some(Plan::new(template, fields, run)));
        let plan = self.plan;
        leptos::task::spawn_local(async move {
            use futures::StreamExt;
            let first = plan.with_untracked(|p| p.as_ref().and_then(Plan::context_index));
            if let Some(i) = first {
                write_section(plan, run, i, false).await;
            }
            let count = plan.with_untracked(|p| p.as_ref().map_or(0, |p| p.sections.len()));
            futures::stream::iter((0..count).filter(|i| Some(*i) != first))
                .for_each_concurrent(CONCURRENCY, |i| write_section(plan, run, i, false))
                .await;
        });
    }

    /// Writes one section again (a retry, or "重新生成" which skips the cache).
    fn redo(&self, index: usize, refresh: bool) {
        let plan = self.plan;
        let Some((run, edited)) = plan.with_untracked(|p| {
            p.as_ref()
                .and_then(|p| p.sections.get(index).map(|s| (p.run, s.edited)))
        }) else {
            return;
        };
        if edited && !browser::confirm("该章节已编辑，重新生成会覆盖您的修改，是否继续？")
        {
            return;
        }
        leptos::task::spawn_local(write_section(plan, run, index, refresh));
    }
}

/// Streams one section into the plan, piece by piece. The section's old text stays until the
/// first new piece arrives, and comes back if the new answer fails before any text.
async fn write_section(plan: RwSignal<Option<Plan>>, run: u64, index: usize, refresh: bool) {
    // Applies a change when the plan is still the one this call belongs to.
    let update = move |f: &dyn Fn(&mut PlanSection)| {
        plan.update(|p| {
            if let Some(s) = p
                .as_mut()
                .filter(|p| p.run == run)
                .and_then(|p| p.sections.get_mut(index))
            {
                f(s);
            }
        });
    };
    // The context is read now, not when the plan started: a retried overview counts.
    let Some((template_id, section_id, fields, context)) = plan.with_untracked(|p| {
        let p = p.as_ref().filter(|p| p.run == run)?;
        let section = p.sections.get(index)?;
        Some((
            p.template_id.clone(),
            section.id.clone(),
            p.fields.clone(),
            p.context_for(index),
        ))
    }) else {
        return;
    };
    update(&|s| {
        s.status = Status::Writing;
        s.error = None;
    });
    let started = std::cell::Cell::new(false);
    let fail = |message: String| {
        update(&|s| {
            s.status = Status::Failed;
            s.error = Some(message.clone());
        })
    };
    let stream = stream_section(template_id, section_id, fields, refresh, context).await;
    let outcome = follow(stream, |event| match event {
        SectionEvent::Start { cached, stale, .. } => update(&|s| {
            s.cached = cached;
            s.stale = stale;
        }),
        SectionEvent::Text { text } => {
            let first = !started.replace(true);
            update(&|s| {
                if first {
                    s.content.clear();
                    s.edited = false;
                }
                s.content.push_str(&text);
            })
        }
        SectionEvent::Done { .. } => update(&|s| {
            s.content = s.content.trim().to_owned();
            s.status = Status::Done;
        }),
        SectionEvent::Error { message, .. } => fail(message),
    })
    .await;
    if let Err(message) = outcome {
        fail(message);
    }
}

/// Reads a section stream to its end, handing each event to `on_event`. `Err` says, in the
/// writer's words, why the stream stopped before its `done` or `error` event.
pub async fn follow(
    stream: Result<leptos::server_fn::codec::ByteStream, ServerFnError>,
    mut on_event: impl FnMut(SectionEvent),
) -> Result<(), String> {
    use futures::StreamExt;

    let mut stream = stream
        .map_err(|e| format!("请求失败：{e}（可能需要重新登录）"))?
        .into_inner();
    let mut lines = LineBuffer::default();
    let mut ended = false;
    while let Some(chunk) = stream.next().await {
        let bytes = chunk.map_err(|e| format!("连接中断：{e}；已保留已生成的部分"))?;
        for event in lines.push(&bytes) {
            ended |= matches!(
                event,
                SectionEvent::Done { .. } | SectionEvent::Error { .. }
            );
            on_event(event);
        }
    }
    if ended {
        Ok(())
    } else {
        Err("连接在章节写完前中断，已保留已生成的部分".into())
    }
}

/// Splits the byte stream into events, one JSON object per line. Network chunks may end in the
/// middle of a line or of a character; the rest waits for the next chunk.
#[derive(Default)]
struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    fn push(&mut self, bytes: &[u8]) -> Vec<SectionEvent> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            if let Ok(event) = serde_json::from_slice(&line[..end]) {
                events.push(event);
            }
        }
        events
    }
}

#[component]
pub fn PlanPanel(store: PlanStore) -> impl IntoView {
    let plan = store.plan;
    // Only a new plan rebuilds the cards; streamed text and typing update them in place.
    let shape = Memo::new(move |_| {
        plan.with(|p| {
            p.as_ref().map(|p| {
                (
                    p.run,
                    p.enterprise_name.clone(),
                    p.template_name.clone(),
                    p.sections.len(),
                )
            })
        })
    });
    move || {
        shape.get().map(|(_, name, template_name, count)| {
                let done = move || plan.with(|p| p.as_ref().map_or(0, Plan::done));
                // The plan goes into the form when it is submitted, not on every piece or keystroke.
                let plan_input = NodeRef::<leptos::html::Input>::new();
                let fill_form = move |_| {
                    if let Some(input) = plan_input.get() {
                        input.set_value(&plan.with_untracked(|p| p.as_ref().map(Plan::export_json).unwrap_or_default()));
                    }
                };
                let exportable = move || {
                    plan.with(|p| {
                        p.as_ref().is_some_and(|p| {
                            !p.busy() && p.sections.iter().any(|s| !s.content.trim().is_empty())
                        })
                    })
                };
                view! {
                    <section class="panel plan" data-testid="plan" aria-live="polite">
                        <header class="plan-head">
                            <h2>{format!("{name}{template_name}")}</h2>
                            <div class="plan-progress">
                                <progress max=count value=done></progress>
                                <span>
                                    <span data-testid="plan-count">{move || format!("{} / {count}", done())}</span>
                                    " 章已完成"
                                </span>
                            </div>
                        </header>
                        <form class="plan-export" method="post" action="/export/docx" on:submit=fill_form>
                            <input type="hidden" name="plan" node_ref=plan_input />
                            <button type="submit" class="primary" formaction="/export/docx" disabled=move || !exportable()>
                                "导出 Word"
                            </button>
                            <button type="submit" formaction="/export/markdown" disabled=move || !exportable()>
                                "导出 Markdown"
                            </button>
                            <span class="muted">"导出的是您当前看到（含编辑过）的内容。"</span>
                        </form>
                        {(0..count).map(|i| view! { <PlanSectionCard store index=i /> }).collect_view()}
                    </section>
                }
            })
    }
}

#[component]
fn PlanSectionCard(store: PlanStore, index: usize) -> impl IntoView {
    let plan = store.plan;
    let field = move |f: fn(&PlanSection) -> String| {
        move || {
            plan.with(|p| {
                p.as_ref()
                    .and_then(|p| p.sections.get(index))
                    .map(f)
                    .unwrap_or_default()
            })
        }
    };
    let status = move || {
        plan.with(|p| {
            p.as_ref()
                .and_then(|p| p.sections.get(index))
                .map_or(Status::Waiting, |s| s.status)
        })
    };
    let flag = move |f: fn(&PlanSection) -> bool| {
        move || {
            plan.with(|p| {
                p.as_ref()
                    .and_then(|p| p.sections.get(index))
                    .is_some_and(f)
            })
        }
    };
    let title = field(|s| s.title.clone());
    let error = move || {
        plan.with(|p| {
            p.as_ref()
                .and_then(|p| p.sections.get(index))
                .and_then(|s| s.error.clone())
        })
    };
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        plan.update(|p| {
            if let Some(s) = p.as_mut().and_then(|p| p.sections.get_mut(index)) {
                s.content = text;
                s.edited = true;
            }
        });
    };
    view! {
        <article class="plan-section" data-testid="plan-section" data-status=move || status().as_str()>
            <header class="plan-section-head">
                <h3>{move || format!("{}. {}", index + 1, title())}</h3>
                <span class=move || format!("status status-{}", status().as_str())>{move || status().label()}</span>
                {move || flag(|s| s.cached && !s.stale && s.status == Status::Done)().then(|| view! { <span class="badge">"来自缓存"</span> })}
                {move || flag(|s| s.stale && s.status == Status::Done)().then(|| view! {
                    <span class="badge stale" title="AI 服务暂不可用，显示的是已过期的缓存内容">"已过期，建议稍后重新生成"</span>
                })}
                {move || flag(|s| s.edited)().then(|| view! { <span class="badge edited">"已编辑"</span> })}
            </header>
            {move || error().map(|e| view! { <p class="alert" role="alert">{e}</p> })}
            <textarea
                data-testid="section-text"
                aria-label=move || format!("{} 正文", title())
                rows="10"
                readonly=move || matches!(status(), Status::Waiting | Status::Writing)
                placeholder=move || if status() == Status::Waiting { "等待生成…" } else { "" }
                prop:value=field(|s| s.content.clone())
                on:input=on_input
            ></textarea>
            <div class="section-actions">
                {move || match status() {
                    Status::Done => Some(view! {
                        <button type="button" on:click=move |_| store.redo(index, true)>"重新生成"</button>
                    }.into_any()),
                    Status::Failed => Some(view! {
                        <button type="button" class="primary" on:click=move |_| store.redo(index, false)>"重试"</button>
                    }.into_any()),
                    _ => None,
                }}
            </div>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_across_chunks_and_characters() {
        let line = serde_json::to_string(&SectionEvent::Text {
            text: "企业概况".into(),
        })
        .unwrap()
            + "\n";
        let bytes = line.as_bytes();
        let mut buffer = LineBuffer::default();
        // Cut inside the first Chinese character.
        let cut = line.find('企').unwrap() + 1;
        assert!(buffer.push(&bytes[..cut]).is_empty());
        let events = buffer.push(&[&bytes[cut..], bytes].concat());
        assert_eq!(
            events,
            vec![
                SectionEvent::Text {
                    text: "企业概况".into()
                };
                2
            ]
        );
    }
}
