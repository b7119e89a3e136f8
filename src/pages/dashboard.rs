//! The admin cache dashboard (`/admin/cache`): live backend state, counters, a traffic chart,
//! AI counters, and clearing the cache. Refreshes itself every few seconds.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use std::collections::BTreeMap;

use crate::{
    browser,
    components::{chart::TrafficChart, hydrated::use_hydrated, template_select::TemplateSelect},
    model::{
        AppError, Dashboard, EnterpriseData, FieldKind, FieldProblem, InstanceView, PlanBody, Role,
        Scope, Spend, TemplateView, UsageStats, WarmupJobView,
    },
    pages::{forbidden::Forbidden, generator::list_templates},
};

const REFRESH_MS: u64 = 3000;

#[server(prefix = "/fn", endpoint = "load_dashboard")]
pub async fn load_dashboard() -> Result<Dashboard, AppError> {
    Ok(super::server::Door::admin()?.dashboard().await)
}

#[server(prefix = "/fn", endpoint = "clear_cache")]
pub async fn clear_cache() -> Result<u64, AppError> {
    super::server::Door::admin()?.clear_cache().await
}

/// Pre-generates every section of a template for one enterprise, in the background.
#[server(prefix = "/fn", input = leptos::server_fn::codec::Json, endpoint = "start_warmup")]
pub async fn start_warmup(body: PlanBody) -> Result<Result<u64, Vec<FieldProblem>>, AppError> {
    Ok(super::server::Door::admin()?.start_template_warmup(body))
}

/// The dashboard as a route whose code loads when it is opened.
pub struct DashboardRoute;

#[lazy_route]
impl LazyRoute for DashboardRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <DashboardPage /> }.into_any()
    }
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let viewer = super::nav::use_viewer();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"正在加载…"</p> }>
            {move || Suspend::new(async move {
                match viewer.await.map(|me| me.map(|me| me.role)) {
                    Ok(Some(Role::Admin)) => view! { <Board /> }.into_any(),
                    _ => view! { <Forbidden /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Board() -> impl IntoView {
    let tick = RwSignal::new(0u64);
    let clear = ServerAction::<ClearCache>::new();
    let start = ServerAction::<StartWarmup>::new();
    let hydrated = use_hydrated();
    let data = Resource::new(
        move || (tick.get(), clear.version().get(), start.version().get()),
        |_| load_dashboard(),
    );

    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || tick.update(|t| *t += 1),
            std::time::Duration::from_millis(REFRESH_MS),
        ) {
            on_cleanup(move || handle.clear());
        }
    });

    let on_clear = move |_| {
        if browser::confirm("确定要清除本应用的全部缓存吗？此操作不可撤销。")
        {
            clear.dispatch(ClearCache {});
        }
    };

    view! {
        <section class="hero">
            <h1>"缓存看板"</h1>
            <p class="lead">"每 3 秒自动刷新。"</p>
        </section>
        <Transition fallback=|| view! { <p class="muted">"正在加载统计…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <Stats d hydrated /> }.into_any(),
                    Err(e) => {
                        view! { <p class="alert" role="alert">"统计加载失败：" {e.to_string()}</p> }
                            .into_any()
                    }
                }
            })}
        </Transition>
        <WarmupPanel data start />
        <section class="panel">
            <h2>"清除缓存"</h2>
            <p class="muted">"只删除本应用前缀下的缓存条目，不影响共用 Redis 的其他应用。"</p>
            <div class="actions">
                <button
                    type="button"
                    class="danger"
                    disabled=move || !hydrated.get() || clear.pending().get()
                    on:click=on_clear
                >
                    {move || if clear.pending().get() { "正在清除…" } else { "清除缓存" }}
                </button>
                <span role="status" data-testid="clear-result">
                    {move || {
                        clear
                            .value()
                            .get()
                            .map(|r| match r {
                                Ok(n) => format!("已清除 {n} 条缓存"),
                                Err(e) => format!("清除失败：{e}"),
                            })
                    }}
                </span>
            </div>
        </section>
    }
}

#[component]
fn Stats(d: Dashboard, hydrated: ReadSignal<bool>) -> impl IntoView {
    let Dashboard {
        scope,
        stats: c,
        ai,
        usage,
        instances,
        history,
        history_step_secs,
        plans,
        ..
    } = d;
    let scope_line = match scope {
        Scope::Deployment => format!(
            "以下为整个部署（{} 个实例，经 Redis 汇总）自首次启动以来的统计；后端与熔断状态为本实例的。",
            instances.iter().filter(|i| i.live).count()
        ),
        Scope::Instance => {
            "Redis 不可用或未配置：以下只是本实例自启动以来的统计。".to_owned()
        }
    };
    let history = StoredValue::new(history);
    let chart_caption = if history_step_secs >= 60 {
        "最近 10 分钟（整个部署，每分钟一格）".to_owned()
    } else {
        format!("最近 10 分钟（本实例，每 {history_step_secs} 秒一格）")
    };
    let backend = match (c.backend.as_str(), c.degraded) {
        ("redis", _) if c.l1_enabled => "Redis + 本地 L1",
        ("redis", _) => "Redis",
        (_, true) => "内存（已从 Redis 降级）",
        _ => "内存",
    };
    let state = if c.degraded {
        "降级运行：Redis 不可用，正在后台探测"
    } else {
        "正常"
    };
    let ai_mode = if ai.is_mock() {
        "模拟生成器".to_owned()
    } else {
        format!("模型 {}", ai.model)
    };
    let stat = |key: &'static str, label: &'static str, value: String| {
        view! {
            <div class="stat" data-stat=key>
                <span class="stat-label">{label}</span>
                <span class="stat-value">{value}</span>
            </div>
        }
    };
    view! {
        <p class="muted" data-testid="scope" data-scope=format!("{scope:?}").to_lowercase()>
            {scope_line}
        </p>
        <section class="panel">
            <h2>"缓存"</h2>
            <div class="status-line">
                <span class="pill" class:warn=c.degraded data-testid="backend">{backend}</span>
                <span class="pill" class:warn=c.degraded data-testid="state">{state}</span>
            </div>
            <div class="stats">
                {stat("hits", "命中", c.hits.to_string())}
                {stat("misses", "未命中", c.misses.to_string())}
                {stat("sets", "写入", c.sets.to_string())}
                {stat("errors", "错误", c.errors.to_string())}
                {stat("total_requests", "总请求", c.total_requests.to_string())}
                {stat("hit_rate", "命中率", c.hit_rate.clone())}
                {stat("stale_served", "过期兜底", c.stale_served.to_string())}
            </div>
            {c.redis_configured.then(|| view! {
                <h3>"分层与熔断"</h3>
                <div class="stats">
                    {stat("l1_hits", "L1 命中", c.tiers.l1.hits.to_string())}
                    {stat("l1_misses", "L1 未命中", c.tiers.l1.misses.to_string())}
                    {stat("l2_hits", "Redis 命中", c.tiers.l2.hits.to_string())}
                    {stat("l2_misses", "Redis 未命中", c.tiers.l2.misses.to_string())}
                    {stat("breaker_opened", "降级次数", c.breaker.opened.to_string())}
                    {stat("breaker_closed", "恢复次数", c.breaker.closed.to_string())}
                </div>
            })}
            <h3>{chart_caption}</h3>
            // Drawn once the page is live: its bars are the one part of the board whose shape
            // follows the clock, and a server render taken from another look at the stats than
            // the one the page hydrates with would break hydration (seen in CI).
            {move || {
                hydrated.get().then(|| view! { <TrafficChart points=history.get_value() /> })
            }}
        </section>
        <InstancesPanel instances />
        <section class="panel">
            <h2>"AI 服务"</h2>
            <div class="status-line">
                <span class="pill" data-testid="ai-mode">{ai_mode}</span>
            </div>
            <div class="stats">
                {stat("ai_calls", "调用次数", ai.calls.to_string())}
                {stat("ai_retries", "重试次数", ai.retries.to_string())}
                {stat("ai_failures", "失败次数", ai.failures.to_string())}
            </div>
        </section>
        <UsagePanel usage />
        <section class="panel" data-testid="plan-store">
            <h2>"预案库"</h2>
            <div class="status-line">
                <span class="pill" class:warn=!plans.available>
                    {if plans.engine == "postgres" { "PostgreSQL" } else { "SQLite（嵌入式）" }}
                </span>
                <span class="pill" class:warn=!plans.available>
                    {if plans.available { "正常" } else { "无法访问：写作者的修改暂存在各自浏览器中" }}
                </span>
            </div>
            <div class="stats">
                {stat("plans", "预案", plans.plans.to_string())}
                {stat("writers", "编写人", plans.writers.to_string())}
                {stat("in_trash", "回收站", plans.in_trash.to_string())}
                {stat("versions", "版本", plans.versions.to_string())}
            </div>
        </section>
    }
}

/// The deployment's instances: which are live and how each serves its cache.
#[component]
fn InstancesPanel(instances: Vec<InstanceView>) -> impl IntoView {
    let rows = instances
        .into_iter()
        .map(|i| {
            let state = if i.live { "运行中" } else { "已失联" };
            let backend = match (i.backend.as_str(), i.breaker.as_str()) {
                ("redis", _) => "Redis",
                (_, "open") => "内存（已从 Redis 降级）",
                _ => "内存",
            };
            let seen = if i.seen_secs_ago < 2 {
                "刚刚".to_owned()
            } else {
                format!("{} 秒前", i.seen_secs_ago)
            };
            let name = if i.this {
                format!("{}（本实例）", i.id)
            } else {
                i.id.clone()
            };
            view! {
                <tr data-instance=i.id.clone() data-live=i.live.to_string() class:muted=!i.live>
                    <th scope="row">{name}</th>
                    <td>{i.address}</td>
                    <td>{i.version}</td>
                    <td>{state}</td>
                    <td>{backend}</td>
                    <td>{seen}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel">
            <h2>"实例"</h2>
            <div class="table-scroll">
                <table class="usage" data-testid="instances">
                    <thead>
                        <tr>
                            <th scope="col">"实例"</th>
                            <th scope="col">"地址"</th>
                            <th scope="col">"版本"</th>
                            <th scope="col">"状态"</th>
                            <th scope="col">"缓存"</th>
                            <th scope="col">"最近上报"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

/// Spend and savings, today and in total, and each user against their limits.
#[component]
fn UsagePanel(usage: UsageStats) -> impl IntoView {
    let money = |v: f64| format!("{v:.4} {}", usage.currency);
    let saved_share = |s: &Spend| {
        let would = s.cost + s.saved_cost;
        if would > 0.0 {
            format!("{:.1}%", s.saved_cost * 100.0 / would)
        } else {
            let tokens = s.prompt_tokens + s.completion_tokens + s.saved_tokens;
            if tokens == 0 {
                "—".to_owned()
            } else {
                format!("{:.1}%", s.saved_tokens as f64 * 100.0 / tokens as f64)
            }
        }
    };
    let line = |label: &'static str, s: &Spend| {
        let key = if label == "今日" { "today" } else { "total" };
        view! {
            <tr data-usage=key>
                <th scope="row">{label}</th>
                <td>{(s.prompt_tokens + s.completion_tokens).to_string()}</td>
                <td>{money(s.cost)}</td>
                <td>{s.saved_tokens.to_string()}</td>
                <td>{money(s.saved_cost)}</td>
                <td>{saved_share(s)}</td>
                <td>{format!("{:.1} 秒", s.saved_ms as f64 / 1000.0)}</td>
            </tr>
        }
    };
    let limit = |v: Option<u64>| v.map_or("不限".to_owned(), |v| v.to_string());
    let users = usage
        .by_user
        .iter()
        .map(|(name, u)| {
            let used = u.tokens_today;
            let closeness = match u.limits.tokens_per_day {
                Some(limit) if limit > 0 => format!("{:.0}%", used as f64 * 100.0 / limit as f64),
                _ => "—".to_owned(),
            };
            view! {
                <tr data-user=name.clone()>
                    <th scope="row">{name.clone()}</th>
                    <td>{u.spend.requests.to_string()}</td>
                    <td>{(u.spend.prompt_tokens + u.spend.completion_tokens).to_string()}</td>
                    <td>{money(u.spend.cost)}</td>
                    <td>{u.spend.saved_tokens.to_string()}</td>
                    <td>{limit(u.limits.requests_per_minute.map(u64::from))}</td>
                    <td>{limit(u.limits.concurrent_generations.map(u64::from))}</td>
                    <td>{format!("{used} / {}", limit(u.limits.tokens_per_day))}</td>
                    <td>{closeness}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="panel" data-testid="usage">
            <h2>"用量与费用"</h2>
            <p class="muted">"范围同上；费用按 AI_PRICE_* 计算，“节省”是缓存命中省下的模型调用。"</p>
            <div class="table-scroll">
                <table class="usage">
                    <thead>
                        <tr>
                            <th scope="col"></th>
                            <th scope="col">"tokens"</th>
                            <th scope="col">"费用"</th>
                            <th scope="col">"节省 tokens"</th>
                            <th scope="col">"节省费用"</th>
                            <th scope="col">"节省比例"</th>
                            <th scope="col">"节省时间"</th>
                        </tr>
                    </thead>
                    <tbody>{line("今日", &usage.today)} {line("累计", &usage.total)}</tbody>
                </table>
            </div>
            <h3>"按用户"</h3>
            <div class="table-scroll">
                <table class="usage">
                    <thead>
                        <tr>
                            <th scope="col">"用户"</th>
                            <th scope="col">"请求"</th>
                            <th scope="col">"tokens"</th>
                            <th scope="col">"费用"</th>
                            <th scope="col">"节省 tokens"</th>
                            <th scope="col">"每分钟请求上限"</th>
                            <th scope="col">"同时生成上限"</th>
                            <th scope="col">"今日 tokens / 每日上限"</th>
                            <th scope="col">"已用比例"</th>
                        </tr>
                    </thead>
                    <tbody>{users}</tbody>
                </table>
            </div>
        </section>
    }
}

/// Starts a whole-template warm-up and shows every job's progress.
#[component]
fn WarmupPanel(
    data: Resource<Result<Dashboard, AppError>>,
    start: ServerAction<StartWarmup>,
) -> impl IntoView {
    let templates = Resource::new(|| (), |_| list_templates());
    view! {
        <section class="panel">
            <h2>"缓存预热"</h2>
            <p class="muted">
                "为一家企业预先生成某个模板的全部章节，之后的请求直接命中缓存。预热在后台进行，不影响其他请求。"
            </p>
            <Suspense fallback=|| ()>
                {move || {
                    templates
                        .get()
                        .and_then(|r| r.ok())
                        .map(|list| view! { <WarmupForm templates=list start /> })
                }}
            </Suspense>
            <p role="status" class="muted" data-testid="warmup-started">
                {move || {
                    start
                        .value()
                        .get()
                        .map(|r| match r {
                            Ok(Ok(id)) => format!("已开始预热任务 #{id}"),
                            Ok(Err(problems)) => {
                                problems
                                    .into_iter()
                                    .map(|p| p.message)
                                    .collect::<Vec<_>>()
                                    .join("；")
                            }
                            Err(e) => format!("无法开始预热：{e}"),
                        })
                }}
            </p>
            <Transition fallback=|| ()>
                <ul class="jobs">
                    {move || Suspend::new(async move {
                        data.await
                            .map(|d| d.warmups)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|job| view! { <JobProgress job /> })
                            .collect_view()
                    })}
                </ul>
            </Transition>
        </section>
    }
}

#[component]
fn WarmupForm(templates: Vec<TemplateView>, start: ServerAction<StartWarmup>) -> impl IntoView {
    let hydrated = use_hydrated();
    let templates = StoredValue::new(templates);
    let template_id = RwSignal::new(templates.with_value(|t| t[0].id.clone()));
    let values = RwSignal::new(BTreeMap::<String, String>::new());
    let required = move || {
        let id = template_id.get();
        templates.with_value(|list| {
            list.iter()
                .find(|t| t.id == id)
                .map(|t| {
                    t.fields
                        .iter()
                        .filter(|f| f.required)
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    view! {
        <form
            class="form"
            on:submit=move |ev| {
                ev.prevent_default();
                let id = template_id.get_untracked();
                let is_integer = |field: &str| {
                    templates.with_value(|list| {
                        list.iter()
                            .find(|t| t.id == id)
                            .and_then(|t| t.field(field))
                            .is_some_and(|f| f.kind == FieldKind::Integer)
                    })
                };
                let data = values.with_untracked(|v| EnterpriseData::from_form(v, is_integer));
                start.dispatch(StartWarmup {
                    body: PlanBody {
                        template_id: id.clone(),
                        data,
                        refresh: None,
                    },
                });
            }
        >
            <div class="fields">
                <label class="field">
                    <span class="label">"模板"</span>
                    <TemplateSelect
                        name="warmup_template_id"
                        templates
                        value=template_id
                        on_change=move |id| template_id.set(id)
                    />
                </label>
                <For
                    each=required
                    key=|f| f.id.clone()
                    children=move |f| {
                        let id = f.id.clone();
                        let input_id = format!("warmup-{}", f.id);
                        view! {
                            <div class="field">
                                <label class="label" for=input_id.clone()>
                                    {f.label.clone()}
                                </label>
                                <input
                                    id=input_id
                                    name=format!("warmup_{}", f.id)
                                    prop:value={
                                        let id = id.clone();
                                        move || values.with(|v| v.get(&id).cloned().unwrap_or_default())
                                    }
                                    on:input=move |ev| {
                                        let v = event_target_value(&ev);
                                        values.update(|m| {
                                            m.insert(id.clone(), v);
                                        });
                                    }
                                />
                            </div>
                        }
                    }
                />
            </div>
            <div class="actions">
                <button type="submit" class="primary" disabled=move || !hydrated.get() || start.pending().get()>
                    "预热全部章节"
                </button>
            </div>
        </form>
    }
}

#[component]
fn JobProgress(job: WarmupJobView) -> impl IntoView {
    let state = if !job.finished {
        "进行中".to_owned()
    } else if job.failed == 0 {
        "完成".to_owned()
    } else {
        format!("完成，{} 项失败", job.failed)
    };
    view! {
        <li class="job" data-job=job.id>
            <div class="job-head">
                <span>{format!("#{} {}", job.id, job.label)}</span>
                <span class="muted" data-testid="job-progress">
                    {format!("{} / {} · {state}", job.done, job.total)}
                </span>
            </div>
            <progress max=job.total value=job.done aria-label=format!("预热任务 #{} 进度", job.id)></progress>
            {(!job.errors.is_empty())
                .then(|| {
                    view! {
                        <ul class="job-errors">
                            {job.errors.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}
                        </ul>
                    }
                })}
        </li>
    }
}
