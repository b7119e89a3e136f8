//! The admin cache dashboard (`/admin/cache`): live backend state, counters, a traffic chart,
//! AI counters, and clearing the cache. Refreshes itself every few seconds.

use leptos::prelude::*;

use crate::{
    browser,
    components::{chart::TrafficChart, nav::use_viewer},
    model::{Dashboard, Role},
    pages::forbidden::Forbidden,
};

const REFRESH_MS: u64 = 3000;

#[server(prefix = "/fn")]
pub async fn load_dashboard() -> Result<Dashboard, ServerFnError> {
    crate::web::viewer::require_admin()?;
    let state = expect_context::<crate::state::AppState>();
    Ok(crate::web::views::dashboard(
        &state.generation,
        &state.history,
    ))
}

#[server(prefix = "/fn")]
pub async fn clear_cache() -> Result<u64, ServerFnError> {
    crate::web::viewer::require_admin()?;
    let state = expect_context::<crate::state::AppState>();
    state
        .generation
        .cache()
        .clear()
        .await
        .map_err(|_| ServerFnError::new("缓存服务暂时不可用，请稍后重试"))
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let viewer = use_viewer();
    view! {
        <Suspense fallback=|| view! { <p class="muted">"正在加载…"</p> }>
            {move || {
                viewer
                    .get()
                    .map(|role| match role {
                        Ok(Some(Role::Admin)) => view! { <Board /> }.into_any(),
                        _ => view! { <Forbidden /> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Board() -> impl IntoView {
    let tick = RwSignal::new(0u64);
    let clear = ServerAction::<ClearCache>::new();
    let data = Resource::new(
        move || (tick.get(), clear.version().get()),
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
            <p class="lead">"每 3 秒自动刷新。统计自本实例启动起计算。"</p>
        </section>
        <Transition fallback=|| view! { <p class="muted">"正在加载统计…"</p> }>
            {move || {
                data.get()
                    .map(|result| match result {
                        Ok(d) => view! { <Stats d /> }.into_any(),
                        Err(e) => {
                            view! { <p class="alert" role="alert">"统计加载失败：" {e.to_string()}</p> }
                                .into_any()
                        }
                    })
            }}
        </Transition>
        <section class="panel">
            <h2>"清除缓存"</h2>
            <p class="muted">"只删除本应用前缀下的缓存条目，不影响共用 Redis 的其他应用。"</p>
            <div class="actions">
                <button
                    type="button"
                    class="danger"
                    disabled=move || clear.pending().get()
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
fn Stats(d: Dashboard) -> impl IntoView {
    let backend = match (d.backend.as_str(), d.degraded) {
        ("redis", _) if d.l1_enabled => "Redis + 本地 L1",
        ("redis", _) => "Redis",
        (_, true) => "内存（已从 Redis 降级）",
        _ => "内存",
    };
    let state = if d.degraded {
        "降级运行：Redis 不可用，正在后台探测"
    } else {
        "正常"
    };
    let ai_mode = if d.ai_mock {
        "模拟生成器".to_owned()
    } else {
        format!("模型 {}", d.ai_model)
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
        <section class="panel">
            <h2>"缓存"</h2>
            <div class="status-line">
                <span class="pill" class:warn=d.degraded data-testid="backend">{backend}</span>
                <span class="pill" class:warn=d.degraded data-testid="state">{state}</span>
            </div>
            <div class="stats">
                {stat("hits", "命中", d.hits.to_string())}
                {stat("misses", "未命中", d.misses.to_string())}
                {stat("sets", "写入", d.sets.to_string())}
                {stat("errors", "错误", d.errors.to_string())}
                {stat("total_requests", "总请求", d.total_requests.to_string())}
                {stat("hit_rate", "命中率", d.hit_rate.clone())}
                {stat("stale_served", "过期兜底", d.stale_served.to_string())}
            </div>
            {d.redis_configured.then(|| view! {
                <h3>"分层与熔断"</h3>
                <div class="stats">
                    {stat("l1_hits", "L1 命中", d.l1_hits.to_string())}
                    {stat("l1_misses", "L1 未命中", d.l1_misses.to_string())}
                    {stat("l2_hits", "Redis 命中", d.l2_hits.to_string())}
                    {stat("l2_misses", "Redis 未命中", d.l2_misses.to_string())}
                    {stat("breaker_opened", "降级次数", d.breaker_opened.to_string())}
                    {stat("breaker_closed", "恢复次数", d.breaker_closed.to_string())}
                </div>
            })}
            <h3>"最近 10 分钟（每 10 秒一格）"</h3>
            <TrafficChart points=d.history.clone() />
        </section>
        <section class="panel">
            <h2>"AI 服务"</h2>
            <div class="status-line">
                <span class="pill" data-testid="ai-mode">{ai_mode}</span>
            </div>
            <div class="stats">
                {stat("ai_calls", "调用次数", d.ai_calls.to_string())}
                {stat("ai_retries", "重试次数", d.ai_retries.to_string())}
                {stat("ai_failures", "失败次数", d.ai_failures.to_string())}
            </div>
        </section>
    }
}
