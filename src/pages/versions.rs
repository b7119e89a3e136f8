//! `/plans/{id}/versions`: a saved plan's versions, newest first; one section side by side
//! between any two of them (or the plan as saved now); restore one (what it replaces is kept
//! as a version too).

use leptos::prelude::*;
use leptos_router::{hooks::use_params_map, lazy_route, LazyRoute};

use super::saved::{plan_versions, restore_version, version_diff};
use crate::{
    browser,
    components::hydrated::use_hydrated,
    model::{saved::short_time, DiffKind, DiffRow, DiffSpan, SavedPlan, VersionSummary},
};

pub struct VersionsRoute;

#[lazy_route]
impl LazyRoute for VersionsRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <VersionsPage /> }.into_any()
    }
}

#[component]
pub fn VersionsPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id")).unwrap_or_default();
    let changed = RwSignal::new(0u32);
    // Here, not in the history it reports on: the history is built again after a restore.
    let message = RwSignal::new(None::<String>);
    let data = Resource::new(move || (id(), changed.get()), |(id, _)| plan_versions(id));
    view! {
        <section class="hero">
            <h1>"版本历史"</h1>
            <p class="lead">
                "每次生成或重新生成章节都会自动保存一个版本（只保留最近的若干个），手动保存的版本全部保留。"
            </p>
        </section>
        <Transition fallback=|| view! { <p class="muted">"正在加载…"</p> }>
            {move || {
                data.get().map(|result| match result {
                    Ok((plan, versions)) => {
                        view! { <History plan versions changed message /> }.into_any()
                    }
                    Err(e) => view! {
                        <p class="alert" role="alert">
                            "无法读取该预案：" {e.message} " " <a href="/plans">"返回我的预案"</a>
                        </p>
                    }
                    .into_any(),
                })
            }}
        </Transition>
    }
}

#[component]
fn History(
    plan: SavedPlan,
    versions: Vec<VersionSummary>,
    changed: RwSignal<u32>,
    message: RwSignal<Option<String>>,
) -> impl IntoView {
    let id = StoredValue::new(plan.id.clone());
    let hydrated = use_hydrated();
    let sections: Vec<(String, String)> = plan
        .plan
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                s.section_id.clone(),
                format!("{}. {}", i + 1, s.section_title),
            )
        })
        .collect();
    let section = RwSignal::new(sections.first().map(|s| s.0.clone()).unwrap_or_default());
    let from = RwSignal::new(versions.first().map_or(0, |v| v.version));
    let to = RwSignal::new(0i64);
    let restore = move |version: i64| {
        if !browser::confirm(&format!(
            "把预案恢复为版本 {version} 的内容？当前内容会先存为一个版本，可随时再恢复。"
        )) {
            return;
        }
        leptos::task::spawn_local(async move {
            message.set(Some(match restore_version(id.get_value(), version).await {
                Ok(_) => format!("已恢复为版本 {version} 的内容"),
                Err(e) => format!("恢复失败：{}", e.message),
            }));
            changed.update(|n| *n += 1);
        });
    };
    let choices: Vec<(i64, String)> = std::iter::once((0i64, "当前内容".to_owned()))
        .chain(versions.iter().map(|v| {
            (
                v.version,
                format!(
                    "版本 {} · {} · {}",
                    v.version,
                    short_time(&v.created_at),
                    brief(&v.note)
                ),
            )
        }))
        .collect();
    let options = move |selected: RwSignal<i64>| {
        choices
            .clone()
            .into_iter()
            .map(|(n, label)| view! { <option value=n.to_string() selected=move || selected.get() == n>{label}</option> })
            .collect_view()
    };
    let rows = versions
        .iter()
        .map(|v| {
            let version = v.version;
            view! {
                <tr data-testid="version-row">
                    <td>{v.version}</td>
                    <td><span class=format!("badge kind-{}", v.kind.as_str())>{v.kind.label()}</span></td>
                    <td class="version-note" data-testid="version-note">{v.note.clone()}</td>
                    <td class="version-time">{short_time(&v.created_at)}</td>
                    <td class="row-actions">
                        <button type="button" disabled=move || !hydrated.get() on:click=move |_| restore(version)>
                            "恢复此版本"
                        </button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let empty = versions.is_empty();
    let (from_options, to_options) = (options(from), options(to));
    view! {
        <section class="panel">
            <header class="plan-head">
                <h2 data-testid="versions-title">{plan.title.clone()}</h2>
                <a class="button primary" href=format!("/?plan={}", plan.id)>"打开此预案"</a>
            </header>
            <p class="muted">{format!("最近保存：{}", short_time(&plan.updated_at))}</p>
            <p class="muted" aria-live="polite" data-testid="versions-message">{move || message.get()}</p>
            {if empty {
                view! { <p class="muted">"还没有版本：生成章节或点击“保存版本”后会出现在这里。"</p> }.into_any()
            } else {
                view! {
                    <table class="versions-table" data-testid="versions">
                        <thead>
                            <tr><th>"版本"</th><th>"类型"</th><th>"说明"</th><th>"时间"</th><th>"操作"</th></tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
                .into_any()
            }}
        </section>
        <section class="panel">
            <h2>"对比章节"</h2>
            <div class="diff-controls">
                <label>"章节"
                    <select data-testid="diff-section" on:change=move |ev| section.set(event_target_value(&ev))>
                        {sections.into_iter().map(|(sid, label)| view! { <option value=sid>{label}</option> }).collect_view()}
                    </select>
                </label>
                <label>"左（旧）"
                    <select data-testid="diff-from" on:change=move |ev| from.set(event_target_value(&ev).parse().unwrap_or(0))>
                        {from_options}
                    </select>
                </label>
                <label>"右（新）"
                    <select data-testid="diff-to" on:change=move |ev| to.set(event_target_value(&ev).parse().unwrap_or(0))>
                        {to_options}
                    </select>
                </label>
            </div>
            <Diff id=id.get_value() section from to />
        </section>
    }
}

#[component]
fn Diff(
    id: String,
    section: RwSignal<String>,
    from: RwSignal<i64>,
    to: RwSignal<i64>,
) -> impl IntoView {
    let diff = Resource::new(
        move || (id.clone(), section.get(), from.get(), to.get()),
        |(id, section, from, to)| version_diff(id, section, from, to),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"正在比较…"</p> }>
            {move || {
                diff.get().map(|result| match result {
                    Ok(d) if !d.changed => view! {
                        <p class="muted" data-testid="diff-same">"两个版本中该章节的内容相同。"</p>
                    }
                    .into_any(),
                    Ok(d) => view! {
                        <table class="diff" data-testid="diff">
                            <thead><tr><th>{side_label(d.from)}</th><th>{side_label(d.to)}</th></tr></thead>
                            <tbody>{d.rows.into_iter().map(|row| view! { <DiffLine row /> }).collect_view()}</tbody>
                        </table>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="alert" role="alert">{e.message}</p> }.into_any(),
                })
            }}
        </Transition>
    }
}

fn side_label(version: i64) -> String {
    if version == 0 {
        "当前内容".to_owned()
    } else {
        format!("版本 {version}")
    }
}

#[component]
fn DiffLine(row: DiffRow) -> impl IntoView {
    let kind = match row.kind {
        DiffKind::Same => "same",
        DiffKind::Changed => "changed",
        DiffKind::Added => "added",
        DiffKind::Removed => "removed",
    };
    let cell = |spans: Option<Vec<DiffSpan>>, side: &'static str| {
        let class = format!("diff-{side}");
        match spans {
            Some(spans) => view! {
                <td class=class>
                    {spans
                        .into_iter()
                        .map(|s| if s.changed {
                            view! { <mark>{s.text}</mark> }.into_any()
                        } else {
                            view! { <span>{s.text}</span> }.into_any()
                        })
                        .collect_view()}
                </td>
            }
            .into_any(),
            None => view! { <td class=format!("{class} diff-empty")></td> }.into_any(),
        }
    };
    view! {
        <tr class=format!("diff-row diff-{kind}") data-kind=kind>
            {cell(row.left, "left")}
            {cell(row.right, "right")}
        </tr>
    }
}

/// A note as a choice in a list shows it: its first characters.
fn brief(note: &str) -> String {
    const SHOWN: usize = 16;
    if note.chars().count() <= SHOWN {
        return note.to_owned();
    }
    let cut: String = note.chars().take(SHOWN - 1).collect();
    format!("{cut}…")
}
