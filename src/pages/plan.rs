//! The whole plan on the generator page. The server writes it (`generation::plan`: the context
//! section first, its text then given to the others) and streams every section's events; the
//! page adds them up with the same reducer as the plan API (`model::Plan::apply`), shows each
//! section in an editable text box, keeps the plan in `localStorage` so nothing is lost on
//! reload, and exports it to Word or Markdown.

use std::collections::BTreeMap;

use leptos::{prelude::*, server_fn::codec::ByteStream};
use serde::de::DeserializeOwned;

use super::{
    save_status::{ConflictBanner, SaveStatus, VersionBar},
    sync::{Sync, EDIT_DELAY_MS},
};
use crate::{
    browser,
    components::check::{CheckLine, SelfCheckTable},
    model::{
        AppError, EnterpriseData, FieldKind, GenerateBody, Plan, PlanBody, PlanEvent, PlanMeta,
        PlanSection, SectionEvent, SectionId, SectionStatus, TemplateView,
    },
};

/// One section, streamed as newline-delimited `SectionEvent`s.
#[server(
    prefix = "/fn",
    input = leptos::server_fn::codec::Json,
    output = leptos::server_fn::codec::Streaming,
    endpoint = "stream_section"
)]
pub async fn stream_section(body: GenerateBody) -> Result<ByteStream<AppError>, AppError> {
    let events = super::server::Door::writer()?.stream_section(body).await;
    Ok(ByteStream::new(events))
}

/// Every section of a plan, streamed as newline-delimited `PlanEvent`s.
#[server(
    prefix = "/fn",
    input = leptos::server_fn::codec::Json,
    output = leptos::server_fn::codec::Streaming,
    endpoint = "stream_plan"
)]
pub async fn stream_plan(body: PlanBody) -> Result<ByteStream<AppError>, AppError> {
    let events = super::server::Door::writer()?.stream_plan(body).await?;
    Ok(ByteStream::new(events))
}

/// The form's values as the enterprise data of a request.
pub fn enterprise_data(
    template: &TemplateView,
    values: &BTreeMap<String, String>,
) -> EnterpriseData {
    EnterpriseData::from_form(values, |id| {
        template
            .field(id)
            .is_some_and(|f| f.kind == FieldKind::Integer)
    })
}

/// The plan on this page, shared by the form (which starts it) and the panel, and kept saved
/// by `sync`.
#[derive(Clone, Copy)]
pub struct PlanStore {
    plan: RwSignal<Option<Plan>>,
    pub sync: Sync,
}

impl Default for PlanStore {
    fn default() -> Self {
        Self::new()
    }
}

impl PlanStore {
    pub fn new() -> Self {
        let plan = RwSignal::new(None::<Plan>);
        Self {
            plan,
            sync: Sync::new(plan),
        }
    }

    /// The plan as it stands, for reading.
    pub fn plan(&self) -> RwSignal<Option<Plan>> {
        self.plan
    }

    pub fn busy(&self) -> Signal<bool> {
        let plan = self.plan;
        Signal::derive(move || plan.with(|p| p.as_ref().is_some_and(Plan::busy)))
    }

    /// Starts a new plan for `template` and `fields`. The plan on the page so far stays saved
    /// under its own name; the new one is saved as its sections are written.
    pub fn start(&self, template: &TemplateView, data: EnterpriseData) {
        let busy = self
            .plan
            .with_untracked(|p| p.as_ref().is_some_and(Plan::busy));
        if busy && !browser::confirm("当前预案还在生成中，开始新的预案会中断它，是否继续？")
        {
            return;
        }
        let run = self
            .plan
            .with_untracked(|p| p.as_ref().map_or(1, |p| p.run + 1));
        let body = PlanBody {
            template_id: template.id.clone(),
            data: data.clone(),
            refresh: None,
        };
        let sync = self.sync;
        sync.start(Plan::new(template, data, run));
        let id = sync.id.get_untracked();
        let plan = self.plan;
        // Applies a change when the plan is still the one this call belongs to.
        let update = move |f: &mut dyn FnMut(&mut Plan)| {
            let mut applied = false;
            if sync.id.get_untracked() != id {
                return false;
            }
            plan.update(|p| {
                if let Some(p) = p.as_mut().filter(|p| p.run == run) {
                    f(p);
                    applied = true;
                }
            });
            applied
        };
        leptos::task::spawn_local(async move {
            let outcome = follow(stream_plan(body).await, |event: PlanEvent| {
                let ended = ended_note(&event.event, "生成", &event.section_id, plan);
                if update(&mut |p| p.apply(event.clone())) {
                    if let Some(note) = ended {
                        sync.changed(note, 300);
                    }
                }
            })
            .await;
            let cut = outcome
                .err()
                .unwrap_or_else(|| "连接在章节写完前中断".to_owned());
            let mut cut_any = false;
            update(&mut |p| {
                for s in p.sections.iter_mut().filter(|s| !s.is_settled()) {
                    s.fail("INTERRUPTED", &format!("{cut}，可点击“重试”"));
                    cut_any = true;
                }
            });
            if cut_any {
                sync.changed(None, 0);
            }
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
        if edited
            && !browser::confirm(
                "该章节已编辑，重新生成会替换您的修改（修改前的内容可在版本历史中找回），是否继续？",
            )
        {
            return;
        }
        let sync = self.sync;
        let id = std::sync::Arc::new(sync.id.get_untracked());
        // Only into the plan it was asked for, even if another is opened meanwhile.
        let current = move || sync.id.with_untracked(|now| now == &*id);
        leptos::task::spawn_local(async move {
            write_section(plan, run, index, refresh, current.clone()).await;
            if !current() {
                return;
            }
            let note = plan.with_untracked(|p| {
                let s = p.as_ref()?.sections.get(index)?;
                let verb = if refresh { "重新生成" } else { "重试" };
                Some(
                    (s.status == SectionStatus::Done)
                        .then(|| format!("{verb}：{}. {}", index + 1, s.section_title)),
                )
            });
            if let Some(note) = note {
                sync.changed(note, 0);
            }
        });
    }

    /// The writer changed the plan's text or particulars.
    fn edited(&self) {
        self.sync.changed(None, EDIT_DELAY_MS);
    }
}

/// When `event` ends its section: `Some(note)` for the automatic version if it was written
/// to the end, `Some(None)` if it failed.
fn ended_note(
    event: &SectionEvent,
    verb: &str,
    section_id: &str,
    plan: RwSignal<Option<Plan>>,
) -> Option<Option<String>> {
    match event {
        SectionEvent::Done { .. } => Some(plan.with_untracked(|p| {
            let p = p.as_ref()?;
            let at = p.sections.iter().position(|s| s.section_id == section_id)?;
            Some(format!(
                "{verb}：{}. {}",
                at + 1,
                p.sections[at].section_title
            ))
        })),
        SectionEvent::Error { .. } => Some(None),
        _ => None,
    }
}

/// Streams one section of the plan again, piece by piece. The section's old text stays until
/// the first new piece arrives, and stays if the new answer fails before any text.
async fn write_section(
    plan: RwSignal<Option<Plan>>,
    run: u64,
    index: usize,
    refresh: bool,
    current: impl Fn() -> bool + 'static,
) {
    let update = move |f: &mut dyn FnMut(&mut PlanSection)| {
        if !current() {
            return;
        }
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
    // The context is read now, not when the plan started: a retried or edited overview counts.
    let Some(body) = plan.with_untracked(|p| {
        let p = p.as_ref().filter(|p| p.run == run)?;
        let section = p.sections.get(index)?;
        Some(GenerateBody {
            template_id: p.template_id.clone(),
            section_id: SectionId(section.section_id.clone()),
            data: p.data.clone(),
            refresh: refresh.then_some(true),
            context: p.context_for(index),
        })
    }) else {
        return;
    };
    write_into(body, update).await;
}

/// Streams one section into the section `update` reaches: a new attempt, each event reduced
/// into it, and a stream cut before its last event marked as failed. Serves the single-section
/// panel and the plan's cards alike.
pub async fn write_into(body: GenerateBody, update: impl Fn(&mut dyn FnMut(&mut PlanSection))) {
    update(&mut PlanSection::begin);
    let outcome = follow(stream_section(body).await, |event: SectionEvent| {
        let mut event = Some(event);
        update(&mut |s| s.apply(event.take().expect("applied once")))
    })
    .await;
    let cut = outcome
        .err()
        .unwrap_or_else(|| "连接在章节写完前中断".to_owned());
    update(&mut |s| {
        if !s.is_settled() {
            s.fail("INTERRUPTED", &format!("{cut}；已保留已生成的部分"));
        }
    });
}

/// Reads a stream of newline-delimited events to its end, handing each to `on_event`. `Err`
/// says, in the writer's words, why the stream could not be read.
pub async fn follow<E: DeserializeOwned>(
    stream: Result<ByteStream<AppError>, AppError>,
    mut on_event: impl FnMut(E),
) -> Result<(), String> {
    use futures::StreamExt;

    let mut stream = stream.map_err(|e| format!("请求失败：{e}"))?.into_inner();
    let mut lines = LineBuffer::default();
    while let Some(chunk) = stream.next().await {
        let bytes = chunk.map_err(|e| format!("连接中断：{e}；已保留已生成的部分"))?;
        for event in lines.push(&bytes)? {
            on_event(event);
        }
    }
    Ok(())
}

/// Splits the byte stream into events, one JSON object per line. Network chunks may end in the
/// middle of a line or of a character; the rest waits for the next chunk.
#[derive(Default)]
struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// The complete events so far. A line that is no event means the page and the server do
    /// not speak the same version: said, not skipped.
    fn push<E: DeserializeOwned>(&mut self, bytes: &[u8]) -> Result<Vec<E>, String> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let event = serde_json::from_slice(&line[..end])
                .map_err(|_| "服务器返回了无法识别的内容，请刷新页面后重试".to_owned())?;
            events.push(event);
        }
        Ok(events)
    }
}

/// The plan's cards, whose code arrives in its own wasm chunk once the page is usable: a
/// plan is only ever shown in the browser (it lives in `localStorage` or is being written), so
/// the server renders nothing here and the form works before the cards' code is loaded.
#[component]
pub fn LazyPlanPanel(store: PlanStore) -> impl IntoView {
    let ready = RwSignal::new(false);
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| ready.set(true));
    move || ready.get().then(|| Suspend::new(plan_panel(store)))
}

#[lazy]
fn plan_panel(store: PlanStore) -> AnyView {
    view! { <PlanPanel store /> }.into_any()
}

#[component]
fn PlanPanel(store: PlanStore) -> impl IntoView {
    let plan = store.plan;
    let sync = store.sync;
    // Only a new plan rebuilds the cards; streamed text and typing update them in place.
    let shape = Memo::new(move |_| {
        let id = sync.id.get();
        plan.with(|p| {
            p.as_ref().map(|p| {
                (
                    (id, p.run),
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
                // Changes only when a section's check does, not with every piece of text.
                let self_check = Memo::new(move |_| {
                    plan.with(|p| p.as_ref().map(Plan::self_check).unwrap_or_default())
                });
                // The plan goes into the form when it is submitted, not on every piece or keystroke.
                let plan_input = NodeRef::<leptos::html::Input>::new();
                let fill_form = move |_| {
                    if let Some(input) = plan_input.get() {
                        input.set_value(&plan.with_untracked(|p| {
                            p.as_ref().and_then(|p| serde_json::to_string(p).ok()).unwrap_or_default()
                        }));
                    }
                };
                let exportable = move || {
                    plan.with(|p| {
                        p.as_ref().is_some_and(|p| {
                            !p.busy() && p.sections.iter().any(|s| !s.text().trim().is_empty())
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
                        <div class="plan-save">
                            <SaveStatus sync />
                            <VersionBar sync />
                        </div>
                        <ConflictBanner sync plan />
                        <form class="plan-export" method="post" action="/export/docx" on:submit=fill_form>
                            <input type="hidden" name="plan" node_ref=plan_input />
                            <MetaInputs store />
                            <label class="check-option">
                                <input type="checkbox" name="self_check" value="1" checked />
                                "附上要素自查表"
                            </label>
                            <button type="submit" class="primary" formaction="/export/docx" disabled=move || !exportable()>
                                "导出 Word"
                            </button>
                            <button type="submit" formaction="/export/markdown" disabled=move || !exportable()>
                                "导出 Markdown"
                            </button>
                            <span class="muted">"导出的是您当前看到（含编辑过）的内容。"</span>
                        </form>
                        {move || {
                            let rows = self_check.get();
                            (!rows.is_empty()).then(|| view! { <SelfCheckTable rows /> })
                        }}
                        {(0..count).map(|i| view! { <PlanSectionCard store index=i /> }).collect_view()}
                    </section>
                }
            })
    }
}

/// The plan's number, version and 主要负责人 for the cover and the approval page (Annex C),
/// kept with the plan. Not form fields of their own: they travel inside the plan.
#[component]
fn MetaInputs(store: PlanStore) -> impl IntoView {
    let plan = store.plan;
    let field = |label: &'static str,
                 max: u32,
                 get: fn(&PlanMeta) -> String,
                 set: fn(&mut PlanMeta, String)| {
        let on_input = move |ev| {
            let value = event_target_value(&ev);
            plan.update(|p| {
                if let Some(p) = p.as_mut() {
                    set(&mut p.meta, value);
                }
            });
            store.edited();
        };
        view! {
            <label class="meta-field">
                <span>{label}</span>
                <input
                    type="text"
                    maxlength=max
                    placeholder="可留空，打印后手填"
                    prop:value=move || plan.with(|p| p.as_ref().map(|p| get(&p.meta)).unwrap_or_default())
                    on:input=on_input
                />
            </label>
        }
    };
    view! {
        <div class="plan-meta" data-testid="plan-meta">
            {field("预案编号", 50, |m| m.number.clone(), |m, v| m.number = v)}
            {field("版本号", 20, |m| m.version.clone(), |m, v| m.version = v)}
            {field("主要负责人（批准人）", 30, |m| m.principal.clone(), |m, v| m.principal = v)}
        </div>
    }
}

#[component]
fn PlanSectionCard(store: PlanStore, index: usize) -> impl IntoView {
    let plan = store.plan;
    let read = move |f: fn(&PlanSection) -> String| {
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
                .map_or(SectionStatus::Waiting, |s| s.status)
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
    let title = read(|s| s.section_title.clone());
    let error = move || {
        plan.with(|p| {
            p.as_ref()
                .and_then(|p| p.sections.get(index))
                .and_then(|s| s.error.as_ref().map(|e| e.message.clone()))
        })
    };
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        plan.update(|p| {
            if let Some(p) = p.as_mut() {
                p.edit(index, text);
            }
        });
        store.edited();
    };
    view! {
        <article class="plan-section" data-testid="plan-section" data-status=move || status().as_str()>
            <header class="plan-section-head">
                <h3>{move || format!("{}. {}", index + 1, title())}</h3>
                <span class=move || format!("status status-{}", status().as_str())>{move || status().label()}</span>
                {move || flag(|s| s.cached && !s.stale && s.status == SectionStatus::Done)().then(|| view! { <span class="badge">"来自缓存"</span> })}
                {move || flag(|s| s.stale && s.status == SectionStatus::Done)().then(|| view! {
                    <span class="badge stale" title="AI 服务暂不可用，显示的是已过期的缓存内容">"已过期，建议稍后重新生成"</span>
                })}
                {move || flag(|s| s.edited)().then(|| view! { <span class="badge edited">"已编辑"</span> })}
            </header>
            {move || error().map(|e| view! { <p class="alert" role="alert">{e}</p> })}
            <textarea
                data-testid="section-text"
                aria-label=move || format!("{} 正文", title())
                rows="10"
                readonly=move || matches!(status(), SectionStatus::Waiting | SectionStatus::Writing)
                placeholder=move || if status() == SectionStatus::Waiting { "等待生成…" } else { "" }
                prop:value=read(|s| s.text().to_owned())
                on:input=on_input
            ></textarea>
            {move || {
                plan.with(|p| {
                    let s = p.as_ref()?.sections.get(index)?;
                    let check = s.check.clone()?;
                    let text = s.text().to_owned();
                    Some(view! { <CheckLine check text /> })
                })
            }}
            <div class="section-actions">
                {move || match status() {
                    SectionStatus::Done => Some(view! {
                        <button type="button" on:click=move |_| store.redo(index, true)>"重新生成"</button>
                    }.into_any()),
                    SectionStatus::Failed => Some(view! {
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
        assert!(buffer
            .push::<SectionEvent>(&bytes[..cut])
            .unwrap()
            .is_empty());
        let events: Vec<SectionEvent> = buffer.push(&[&bytes[cut..], bytes].concat()).unwrap();
        assert_eq!(
            events,
            vec![
                SectionEvent::Text {
                    text: "企业概况".into()
                };
                2
            ]
        );
        assert!(buffer
            .push::<SectionEvent>(b"{\"type\":\"later\"}\n")
            .is_err());
    }
}
