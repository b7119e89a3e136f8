//! `/plans` (我的预案): the writer's saved plans, newest change first or by title, searched by
//! title; open one in the generator, rename, duplicate (next year's revision), delete to the
//! trash and bring back from it within the trash's days.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use super::saved::{list_plans, plan_action, PlanChange};
use crate::{
    browser,
    components::hydrated::use_hydrated,
    model::{saved::short_time, PlanSummary},
};

pub struct PlansRoute;

#[lazy_route]
impl LazyRoute for PlansRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <PlansPage /> }.into_any()
    }
}

#[component]
pub fn PlansPage() -> impl IntoView {
    let search = RwSignal::new(String::new());
    let trash = RwSignal::new(false);
    let by_title = RwSignal::new(false);
    // Raised by every change made here, so the list is read again.
    let changed = RwSignal::new(0u32);
    let message = RwSignal::new(None::<String>);
    let plans = Resource::new(
        move || (search.get(), trash.get(), by_title.get(), changed.get()),
        |(search, trash, by_title, _)| list_plans(search, trash, by_title),
    );
    let hydrated = use_hydrated();
    let act = move |id: String, action: PlanChange| {
        leptos::task::spawn_local(async move {
            let result = plan_action(id, action).await;
            message.set(Some(match result {
                Ok(done) => done,
                Err(e) => format!("操作失败：{}", e.message),
            }));
            changed.update(|n| *n += 1);
        });
    };
    view! {
        <section class="hero">
            <h1>"我的预案"</h1>
            <p class="lead">
                "生成的整份预案自动保存在这里，换一台电脑登录同一用户也能打开。删除的预案在回收站保留一段时间，可随时恢复。"
            </p>
        </section>
        <section class="panel">
            <div class="plans-toolbar">
                <input
                    type="search"
                    aria-label="按名称搜索"
                    placeholder="按名称搜索"
                    maxlength="100"
                    prop:value=move || search.get()
                    on:input=move |ev| search.set(event_target_value(&ev))
                />
                <select
                    aria-label="排序"
                    on:change=move |ev| by_title.set(event_target_value(&ev) == "title")
                >
                    <option value="updated" selected>"按修改时间"</option>
                    <option value="title">"按名称"</option>
                </select>
                <div class="tabs" role="tablist">
                    <button type="button" role="tab" aria-selected=move || (!trash.get()).to_string()
                        class:active=move || !trash.get() on:click=move |_| trash.set(false)>"预案"</button>
                    <button type="button" role="tab" aria-selected=move || trash.get().to_string()
                        class:active=move || trash.get() on:click=move |_| trash.set(true)>"回收站"</button>
                </div>
            </div>
            <p class="muted" aria-live="polite" data-testid="plans-message">{move || message.get()}</p>
            <Transition fallback=|| view! { <p class="muted">"正在加载…"</p> }>
                {move || {
                    plans.get().map(|result| match result {
                        Ok((list, total)) if list.is_empty() => {
                            let empty = if trash.get_untracked() {
                                "回收站是空的。"
                            } else if total == 0 && search.with_untracked(String::is_empty) {
                                "还没有保存的预案。在“生成章节”页填写企业信息后点击“生成整份预案”，预案会自动保存到这里。"
                            } else {
                                "没有名称包含该词的预案。"
                            };
                            view! { <p class="muted" data-testid="plans-empty">{empty}</p> }.into_any()
                        }
                        Ok((list, total)) => view! {
                            <PlanTable list total in_trash=trash.get_untracked() act hydrated />
                        }
                        .into_any(),
                        Err(e) => view! {
                            <p class="alert" role="alert">
                                "预案列表加载失败：" {e.message} " "
                                <a href="/login?next=/plans">"重新登录"</a>
                            </p>
                        }
                        .into_any(),
                    })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn PlanTable(
    list: Vec<PlanSummary>,
    total: i64,
    in_trash: bool,
    act: impl Fn(String, PlanChange) + Copy + Send + Sync + 'static,
    hydrated: ReadSignal<bool>,
) -> impl IntoView {
    let shown = list.len() as i64;
    // A change the writer confirms first.
    let confirmed = move |ask: String, id: String, change: PlanChange| {
        if browser::confirm(&ask) {
            act(id, change);
        }
    };
    let rows = list
        .into_iter()
        .map(|p| {
            let id = StoredValue::new(p.id.clone());
            let title = StoredValue::new(p.title.clone());
            let when = if in_trash {
                format!(
                    "删除于 {}，{} 后永久删除",
                    p.deleted_at.as_deref().map(short_time).unwrap_or_default(),
                    p.purge_at.as_deref().map(short_time).unwrap_or_default()
                )
            } else {
                short_time(&p.updated_at)
            };
            let actions = if in_trash {
                view! {
                    <button type="button" disabled=move || !hydrated.get()
                        on:click=move |_| act(id.get_value(), PlanChange::Undelete)>"恢复"</button>
                    <button type="button" class="danger" disabled=move || !hydrated.get() on:click=move |_| confirmed(
                        format!("永久删除“{}”及其全部版本？此操作不能撤销。", title.get_value()),
                        id.get_value(),
                        PlanChange::Purge,
                    )>"永久删除"</button>
                }
                .into_any()
            } else {
                view! {
                    <a class="button primary" href=format!("/?plan={}", p.id)>"打开"</a>
                    <a class="button" href=format!("/plans/{}/versions", p.id)>"版本"</a>
                    <button type="button" disabled=move || !hydrated.get() on:click=move |_| {
                        if let Some(name) = browser::prompt("新的预案名称", &title.get_value()) {
                            if !name.trim().is_empty() {
                                act(id.get_value(), PlanChange::Rename(name));
                            }
                        }
                    }>"重命名"</button>
                    <button type="button" disabled=move || !hydrated.get()
                        on:click=move |_| act(id.get_value(), PlanChange::Duplicate)>"复制"</button>
                    <button type="button" class="danger" disabled=move || !hydrated.get() on:click=move |_| confirmed(
                        format!("删除“{}”？删除后可在回收站中恢复。", title.get_value()),
                        id.get_value(),
                        PlanChange::Delete,
                    )>"删除"</button>
                }
                .into_any()
            };
            view! {
                <tr data-testid="plan-row">
                    <td class="plan-title" data-testid="plan-title">{p.title}</td>
                    <td>{p.template_name}</td>
                    <td>{format!("{} / {} 章", p.sections_done, p.sections_total)}</td>
                    <td>{when}</td>
                    <td class="row-actions">{actions}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="usage plans-table" data-testid="plans">
            <thead>
                <tr>
                    <th>"名称"</th>
                    <th>"类型"</th>
                    <th>"进度"</th>
                    <th>{if in_trash { "删除时间" } else { "最近修改" }}</th>
                    <th>"操作"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        {(total > shown).then(|| view! {
            <p class="muted">{format!("共 {total} 份，显示最近的 {shown} 份；可用搜索找到其余的。")}</p>
        })}
    }
}
