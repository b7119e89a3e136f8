//! The whole plan on the generator page. The server writes it, as a job that outlives the page
//! (`jobs`): each finished section goes straight into the saved plan. The page follows the
//! job's events (from any tab or device, and again after a reload), shows the text as it is
//! streamed over the saved plan, and applies each saved section to its own copy; it never saves
//! generated text itself. Sections the server still has to write are read-only here (an edit
//! made elsewhere meanwhile wins over the job: see `plans::jobs`). The writer's own edits are
//! saved by `sync`; a section is written again from the page; the plan is exported to Word or
//! Markdown.

use std::collections::BTreeMap;

use leptos::{prelude::*, server_fn::codec::ByteStream};
use serde::de::DeserializeOwned;

use super::{
    save_machine::SaveState,
    save_status::{ConflictBanner, SaveStatus, VersionBar},
    sync::{Sync, EDIT_DELAY_MS},
};
use crate::{
    browser,
    components::check::{CheckLine, SelfCheckTable},
    model::{
        finding::FactFinding, AppError, EnterpriseData, FeedEvent, FeedItem, FieldKind,
        GenerateBody, JobRequest, JobStarted, JobState, NewPlan, Plan, PlanJob, PlanMeta,
        PlanSection, SectionEvent, SectionStatus, TemplateView,
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

/// Saves the page's new plan and has the server write it (or the sections of an opened plan
/// not yet done, or those `request` names): the plan's revision and the job.
#[server(prefix = "/fn", input = leptos::server_fn::codec::Json, endpoint = "start_plan_job")]
pub async fn start_plan_job(new: NewPlan, request: JobRequest) -> Result<JobStarted, AppError> {
    super::server::Door::writer()?.start_job(new, request).await
}

/// Stops the plan's job once the sections in flight are saved.
#[server(prefix = "/fn", input = leptos::server_fn::codec::Json, endpoint = "cancel_plan_job")]
pub async fn cancel_plan_job(id: String) -> Result<PlanJob, AppError> {
    super::server::Door::writer()?.cancel_job(&id).await
}

/// The events of the plan's open job, as newline-delimited `FeedEvent`s, after `last`.
#[server(
    prefix = "/fn",
    input = leptos::server_fn::codec::Json,
    output = leptos::server_fn::codec::Streaming,
    endpoint = "follow_plan"
)]
pub async fn follow_plan(
    id: String,
    last: Option<String>,
) -> Result<ByteStream<AppError>, AppError> {
    let events = super::server::Door::writer()?
        .follow_plan(&id, last)
        .await?;
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
/// by `sync`. The server writes its sections (a job); the page follows the job's events.
#[derive(Clone, Copy)]
pub struct PlanStore {
    plan: RwSignal<Option<Plan>>,
    pub sync: Sync,
    /// The plan's generation job, as last heard.
    job: RwSignal<Option<PlanJob>>,
    /// Why the job could not be started or followed, in the writer's words.
    job_problem: RwSignal<Option<String>>,
    /// Sections the server is writing now, as streamed so far (shown over the saved ones).
    live: RwSignal<BTreeMap<String, PlanSection>>,
    /// Raised for every plan put on the page: a follower of an earlier one stops.
    following: RwSignal<u64>,
    /// What the check against the enterprise's profile found, by section id, as of the last
    /// save (plans made from a profile).
    findings: RwSignal<BTreeMap<String, Vec<FactFinding>>>,
}

impl Default for PlanStore {
    fn default() -> Self {
        Self::new()
    }
}

/// The longest wait before following a job again after the connection failed.
const FOLLOW_RETRY_MAX_MS: u64 = 30_000;

impl PlanStore {
    pub fn new() -> Self {
        let plan = RwSignal::new(None::<Plan>);
        let store = Self {
            plan,
            sync: Sync::new(plan),
            job: RwSignal::new(None),
            job_problem: RwSignal::new(None),
            live: RwSignal::new(BTreeMap::new()),
            following: RwSignal::new(0),
            findings: RwSignal::new(BTreeMap::new()),
        };
        // A plan opened (from the server or this browser) may be being written right now.
        let opened = store.sync.opened;
        Effect::new(move |_| {
            if opened.get() > 0 {
                if let Some(id) = store.sync.id.get_untracked() {
                    store.follow(id);
                }
            }
        });
        // Each save of a plan made from a profile is checked against the profile again.
        let state = store.sync.state;
        Effect::new(move |_| {
            let saved = matches!(state.get(), SaveState::Saved(_));
            let from_profile =
                plan.with_untracked(|p| p.as_ref().is_some_and(|p| p.enterprise_id.is_some()));
            match store.sync.id.get_untracked() {
                Some(id) if saved && from_profile => store.check_facts(id),
                _ if !from_profile => store.findings.set(BTreeMap::new()),
                _ => {}
            }
        });
        store
    }

    fn check_facts(&self, id: String) {
        let findings = self.findings;
        let sync = self.sync;
        leptos::task::spawn_local(async move {
            if let Ok(found) = super::saved::plan_findings(id.clone()).await {
                // Only for the plan still on the page.
                if sync.id.get_untracked().as_ref() == Some(&id) {
                    findings.set(found.into_iter().collect());
                }
            }
        });
    }

    /// The plan as it stands, for reading.
    pub fn plan(&self) -> RwSignal<Option<Plan>> {
        self.plan
    }

    /// Whether the plan is being written: by the server's job, or a section by this page.
    pub fn busy(&self) -> Signal<bool> {
        let (plan, job) = (self.plan, self.job);
        Signal::derive(move || {
            job.with(|j| j.as_ref().is_some_and(|j| j.state.is_open()))
                || plan.with(|p| {
                    p.as_ref().is_some_and(|p| {
                        p.sections
                            .iter()
                            .any(|s| s.status == SectionStatus::Writing)
                    })
                })
        })
    }

    /// Section `index` as shown: while the server writes it, its text so far.
    fn with_section<T>(&self, index: usize, f: impl FnOnce(Option<&PlanSection>) -> T) -> T {
        let live = self.live;
        self.plan.with(|p| {
            let saved = p.as_ref().and_then(|p| p.sections.get(index));
            live.with(|live| {
                let streaming = saved.and_then(|s| live.get(&s.section_id));
                f(streaming.or(saved))
            })
        })
    }

    /// Starts a new plan for `template` and `fields`, written by the server. The plan on the
    /// page so far stays saved under its own name (a job writing it goes on).
    pub fn start(&self, template: &TemplateView, data: EnterpriseData) {
        let writing_here = self.plan.with_untracked(|p| {
            p.as_ref().is_some_and(|p| {
                p.sections
                    .iter()
                    .any(|s| s.status == SectionStatus::Writing)
            })
        });
        if writing_here
            && !browser::confirm("当前预案有章节正在重新生成，开始新的预案会中断它，是否继续？")
        {
            return;
        }
        let run = self
            .plan
            .with_untracked(|p| p.as_ref().map_or(1, |p| p.run + 1));
        let plan = Plan::new(template, data, run);
        let id = browser::random_id();
        self.reset_job();
        self.sync.start_on_server(id.clone(), plan.clone());
        self.begin_job(id, plan, JobRequest::default());
    }

    /// Has the server write the sections of the plan on the page not yet done.
    fn continue_job(&self) {
        let (Some(id), Some(plan)) = (self.sync.id.get_untracked(), self.plan.get_untracked())
        else {
            return;
        };
        self.reset_job();
        self.begin_job(id, plan, JobRequest::default());
    }

    fn reset_job(&self) {
        self.following.update(|n| *n += 1);
        self.job.set(None);
        self.job_problem.set(None);
        self.live.set(BTreeMap::new());
    }

    fn begin_job(&self, id: String, plan: Plan, request: JobRequest) {
        let store = *self;
        let new = NewPlan {
            id: Some(id.clone()),
            title: None,
            plan,
        };
        leptos::task::spawn_local(async move {
            let started = start_plan_job(new, request).await;
            if store.sync.id.get_untracked().as_ref() != Some(&id) {
                return;
            }
            match started {
                Ok(started) => {
                    store
                        .sync
                        .saved_by_server(started.revision, started.updated_at);
                    store.job.set(Some(started.job));
                    store.follow(id);
                }
                Err(e) => {
                    store.sync.start_failed();
                    store
                        .job_problem
                        .set(Some(format!("无法开始生成：{}", e.message)));
                }
            }
        });
    }

    /// Follows the events of plan `id`'s open job until it ends, reconnecting (from the last
    /// event it had) when the connection breaks. Stops when another plan is put on the page.
    fn follow(&self, id: String) {
        let store = *self;
        store.following.update(|n| *n += 1);
        let turn = store.following.get_untracked();
        let mine = id.clone();
        let current = move || {
            store.following.get_untracked() == turn
                && store.sync.id.get_untracked().as_ref() == Some(&mine)
        };
        leptos::task::spawn_local(async move {
            let mut last: Option<String> = None;
            let mut wait_ms = 1_000;
            loop {
                if !current() {
                    return;
                }
                let mut heard = 0usize;
                let outcome = follow(
                    follow_plan(id.clone(), last.clone()).await,
                    |event: FeedEvent| {
                        if !current() {
                            return;
                        }
                        heard += 1;
                        last = Some(event.id.clone());
                        store.apply(event.item);
                    },
                )
                .await;
                let open = store
                    .job
                    .with_untracked(|j| j.as_ref().is_some_and(|j| j.state.is_open()));
                match outcome {
                    // Nothing open to follow, or followed to its end.
                    Ok(()) if !open || heard == 0 => return,
                    // Cut at the stream deadline: on from where it stopped.
                    Ok(()) => wait_ms = 1_000,
                    Err(problem) => {
                        store
                            .job_problem
                            .set(Some(format!("{problem}；正在重新连接")));
                        browser::sleep(wait_ms).await;
                        wait_ms = (wait_ms * 2).min(FOLLOW_RETRY_MAX_MS);
                    }
                }
            }
        });
    }

    /// One event of the plan's job.
    fn apply(&self, item: FeedItem) {
        match item {
            FeedItem::Section(event) => self.live.update(|live| {
                if let Some(s) = live.get_mut(&event.section_id) {
                    s.apply(event.event);
                } else if let SectionEvent::Start { section_title, .. } = &event.event {
                    let mut s = PlanSection::new(&event.section_id, section_title);
                    s.apply(event.event);
                    live.insert(event.section_id, s);
                }
            }),
            FeedItem::Saved(saved) => {
                let id = saved.section.section_id.clone();
                self.live.update(|live| {
                    live.remove(&id);
                });
                // Only what is newer than the page's copy (a replay repeats older saves).
                if saved.revision > self.sync.revision() {
                    self.plan.update(|p| {
                        if let Some(s) = p
                            .as_mut()
                            .and_then(|p| p.sections.iter_mut().find(|s| s.section_id == id))
                        {
                            *s = saved.section.clone();
                        }
                    });
                    self.sync
                        .server_saved(saved.base_revision, saved.revision, saved.updated_at);
                }
            }
            FeedItem::Job(job) => {
                self.job_problem.set(None);
                if !job.state.is_open() {
                    self.live.set(BTreeMap::new());
                }
                self.job.set(Some(job));
            }
        }
    }

    /// Stops the job once the sections in flight are saved.
    fn cancel_job(&self) {
        let Some(id) = self.sync.id.get_untracked() else {
            return;
        };
        let store = *self;
        leptos::task::spawn_local(async move {
            match cancel_plan_job(id).await {
                Ok(job) => store.job.set(Some(job)),
                Err(e) => store
                    .job_problem
                    .set(Some(format!("取消失败：{}", e.message))),
            }
        });
    }

    /// Has the server write one section again (a retry, or "重新生成", which skips the cache
    /// and keeps the writer's edited text as a version).
    fn redo(&self, index: usize, refresh: bool) {
        let Some((section_id, edited)) = self.plan.with_untracked(|p| {
            p.as_ref()
                .and_then(|p| p.sections.get(index))
                .map(|s| (s.section_id.clone(), s.edited))
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
        let (Some(id), Some(plan)) = (self.sync.id.get_untracked(), self.plan.get_untracked())
        else {
            return;
        };
        self.reset_job();
        let request = JobRequest {
            sections: Some(vec![section_id]),
            force: refresh.then_some(true),
        };
        self.begin_job(id, plan, request);
    }

    /// The writer changed the plan's text or particulars.
    fn edited(&self) {
        self.sync.changed(None, EDIT_DELAY_MS);
    }
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
                let busy = store.busy();
                let exportable = move || {
                    !busy.get()
                        && plan.with(|p| {
                            p.as_ref()
                                .is_some_and(|p| p.sections.iter().any(|s| !s.text().trim().is_empty()))
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
                        <JobBar store />
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

/// The server's job on the plan: its progress while it runs (and a way to stop it), what it
/// left when it ended, and a way to write what is not done yet.
#[component]
fn JobBar(store: PlanStore) -> impl IntoView {
    let job = store.job;
    let unfinished = move || {
        store.plan.with(|p| {
            p.as_ref()
                .is_some_and(|p| p.sections.iter().any(|s| s.status != SectionStatus::Done))
        })
    };
    let open = move || job.with(|j| j.as_ref().is_some_and(|j| j.state.is_open()));
    let line = move || {
        job.with(|j| {
            let j = j.as_ref()?;
            let progress = format!("{} / {} 章", j.settled(), j.sections.len());
            Some(match j.state {
                JobState::Queued => format!("已提交，等待服务器开始生成（{progress}）"),
                JobState::Running => format!("服务器正在生成：{progress}。关闭页面不影响生成"),
                JobState::WaitingForQuota => format!(
                    "{}；将于 {} 自动继续（{progress}）",
                    j.message.clone().unwrap_or_default(),
                    j.resumes_at.as_deref().map(short_time).unwrap_or_default()
                ),
                JobState::Cancelling => format!("正在取消：进行中的章节完成后停止（{progress}）"),
                JobState::Done => j
                    .message
                    .clone()
                    .unwrap_or_else(|| format!("服务器已生成完毕（{progress}）")),
                JobState::Failed => {
                    format!("生成未能进行：{}", j.message.clone().unwrap_or_default())
                }
                JobState::Cancelled => format!("已取消（{progress}），已完成的章节已保存"),
            })
        })
    };
    view! {
        <div class="job-bar" data-testid="job" data-state=move || job.with(|j| j.as_ref().map(|j| j.state.as_str()).unwrap_or("none"))>
            <span role="status" data-testid="job-line">{line}</span>
            {move || store.job_problem.get().map(|p| view! { <span class="alert" role="alert">{p}</span> })}
            {move || open().then(|| view! {
                <button type="button" data-testid="job-cancel" on:click=move |_| store.cancel_job()>"取消生成"</button>
            })}
            {move || (!open() && unfinished()).then(|| view! {
                <button type="button" class="primary" data-testid="job-continue" on:click=move |_| store.continue_job()>"生成未完成的章节"</button>
            })}
        </div>
    }
}

/// `2026-12-04T00:00:00+08:00` as `12-04 00:00`.
fn short_time(at: &str) -> String {
    at.get(5..16)
        .map(|t| t.replace('T', " "))
        .unwrap_or_else(|| at.to_owned())
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
        move || store.with_section(index, |s| s.map(f).unwrap_or_default())
    };
    let status =
        move || store.with_section(index, |s| s.map_or(SectionStatus::Waiting, |s| s.status));
    let flag =
        move |f: fn(&PlanSection) -> bool| move || store.with_section(index, |s| s.is_some_and(f));
    let title = read(|s| s.section_title.clone());
    let error = move || {
        store.with_section(index, |s| {
            s.and_then(|s| s.error.as_ref().map(|e| e.message.clone()))
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
                placeholder=move || if status() == SectionStatus::Waiting { "等待服务器生成…" } else { "" }
                prop:value=read(|s| s.text().to_owned())
                on:input=on_input
            ></textarea>
            {move || {
                store.with_section(index, |s| {
                    let s = s?;
                    let check = s.check.clone()?;
                    let text = s.text().to_owned();
                    Some(view! { <CheckLine check text /> })
                })
            }}
            {move || {
                let id = store.with_section(index, |s| s.map(|s| s.section_id.clone()))?;
                let found = store.findings.with(|f| f.get(&id).cloned())?;
                Some(view! {
                    <ul class="findings" data-testid="fact-findings" aria-label="与企业档案核对">
                        {found.into_iter().map(|f| view! {
                            <li data-testid="fact-finding" data-kind=format!("{:?}", f.kind)>
                                <span class="badge stale">{f.kind.label()}</span>
                                {format!(" 第 {} 段：{}", f.paragraph + 1, f.message)}
                            </li>
                        }).collect_view()}
                    </ul>
                })
            }}
            <div class="section-actions">
                {move || match status() {
                    _ if store.busy().get() && status() != SectionStatus::Done => None,
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
