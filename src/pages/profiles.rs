//! `/enterprises` (企业档案): the writer's enterprise profiles, and `/enterprises/:id`, one
//! profile edited as tables (add, remove and reorder rows; every cell a plain input, so the
//! keyboard and a phone's screen work), saved with compare-and-set, and plans started from it.

use leptos::prelude::*;
use leptos_router::{hooks::use_params_map, lazy_route, LazyRoute};

use super::profile_sheet::{Editor, SheetTable};
#[cfg(feature = "ssr")]
use super::server::Door;
use crate::{
    browser,
    components::hydrated::use_hydrated,
    model::{
        profile::ProfileSummary,
        profile_sheets::{ProfileEditor, ProfileSaveOutcome, Sheet, Sheets, BASICS},
        saved::short_time,
        AppError,
    },
};

#[server(prefix = "/fn", endpoint = "list_profiles")]
pub async fn list_profiles() -> Result<Vec<ProfileSummary>, AppError> {
    Door::writer()?.list_profiles().await
}

#[server(prefix = "/fn", endpoint = "new_profile")]
pub async fn new_profile(name: String) -> Result<String, AppError> {
    Ok(Door::writer()?.new_profile(name).await?.id)
}

#[server(prefix = "/fn", endpoint = "load_profile")]
pub async fn load_profile(id: String) -> Result<ProfileEditor, AppError> {
    Door::writer()?.profile_editor(&id).await
}

#[server(prefix = "/fn", endpoint = "save_profile", input = leptos::server_fn::codec::Json)]
pub async fn save_profile(
    id: String,
    revision: i64,
    sheets: Sheets,
) -> Result<ProfileSaveOutcome, AppError> {
    Door::writer()?.save_profile(&id, revision, sheets).await
}

#[server(prefix = "/fn", endpoint = "delete_profile")]
pub async fn delete_profile(id: String) -> Result<(), AppError> {
    Door::writer()?.delete_profile(&id).await
}

#[server(prefix = "/fn", endpoint = "plan_from_profile")]
pub async fn plan_from_profile(
    id: String,
    template_id: String,
    scope: String,
) -> Result<String, AppError> {
    Door::writer()?
        .plan_from_profile(id, template_id, scope)
        .await
}

pub struct ProfilesRoute;

#[lazy_route]
impl LazyRoute for ProfilesRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <ProfilesPage /> }.into_any()
    }
}

#[component]
pub fn ProfilesPage() -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let message = RwSignal::new(None::<String>);
    let list = Resource::new(move || changed.get(), |_| list_profiles());
    let hydrated = use_hydrated();
    let name = RwSignal::new(String::new());
    let create = move || {
        let typed = name.get_untracked();
        if typed.trim().is_empty() {
            message.set(Some("请填写企业名称".into()));
            return;
        }
        leptos::task::spawn_local(async move {
            match new_profile(typed).await {
                Ok(id) => browser::go(&format!("/enterprises/{id}")),
                Err(e) => message.set(Some(format!("新建失败：{}", e.message))),
            }
        });
    };
    view! {
        <section class="hero">
            <h1>"企业档案"</h1>
            <p class="lead">
                "把企业的人员、电话、应急物资、风险和重点岗位录入一次，由此编写的每份预案都引用这些事实，并逐段与档案核对。"
            </p>
        </section>
        <section class="panel">
            <form class="plans-toolbar" on:submit=move |ev| { ev.prevent_default(); create(); }>
                <input type="text" aria-label="新企业名称" placeholder="企业名称" maxlength="100"
                    data-testid="new-profile-name"
                    on:input=move |ev| name.set(event_target_value(&ev)) />
                <button type="submit" class="primary" disabled=move || !hydrated.get()
                    data-testid="new-profile">"新建企业档案"</button>
            </form>
            <p class="muted" aria-live="polite">{move || message.get()}</p>
            <Transition fallback=|| view! { <p class="muted">"正在加载…"</p> }>
                {move || list.get().map(|result| match result {
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted">"还没有企业档案。填写企业名称后点击“新建企业档案”。"</p>
                    }.into_any(),
                    Ok(list) => view! { <ProfileList list changed message hydrated /> }.into_any(),
                    Err(e) => view! {
                        <p class="alert" role="alert">"企业档案加载失败：" {e.message}</p>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ProfileList(
    list: Vec<ProfileSummary>,
    changed: RwSignal<u32>,
    message: RwSignal<Option<String>>,
    hydrated: ReadSignal<bool>,
) -> impl IntoView {
    let rows = list
        .into_iter()
        .map(|p| {
            let id = StoredValue::new(p.id.clone());
            let name = StoredValue::new(p.name.clone());
            let remove = move |_| {
                if !browser::confirm(&format!(
                    "删除企业档案“{}”？由它编写的预案保留各自的企业信息。",
                    name.get_value()
                )) {
                    return;
                }
                leptos::task::spawn_local(async move {
                    let done = delete_profile(id.get_value()).await;
                    message.set(Some(match done {
                        Ok(()) => "企业档案已删除".into(),
                        Err(e) => format!("删除失败：{}", e.message),
                    }));
                    changed.update(|n| *n += 1);
                });
            };
            view! {
                <tr data-testid="profile-row">
                    <td class="plan-title">{p.name}</td>
                    <td>{short_time(&p.updated_at)}</td>
                    <td class="row-actions">
                        <a class="button primary" href=format!("/enterprises/{}", p.id)>"打开"</a>
                        <button type="button" class="danger" disabled=move || !hydrated.get()
                            on:click=remove>"删除"</button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="usage plans-table" data-testid="profiles">
            <thead><tr><th>"企业"</th><th>"最近修改"</th><th>"操作"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

pub struct ProfileRoute;

#[lazy_route]
impl LazyRoute for ProfileRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <ProfilePage /> }.into_any()
    }
}

#[component]
pub fn ProfilePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let loaded = Resource::new(id, load_profile);
    view! {
        <section class="hero">
            <h1>"企业档案"</h1>
            <p class="lead"><a href="/enterprises">"← 全部企业档案"</a></p>
        </section>
        <Transition fallback=|| view! { <p class="muted">"正在加载…"</p> }>
            {move || loaded.get().map(|result| match result {
                Ok(editor) => view! { <ProfileForm editor /> }.into_any(),
                Err(e) => view! {
                    <section class="panel"><p class="alert" role="alert">"企业档案加载失败：" {e.message}</p></section>
                }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ProfileForm(editor: ProfileEditor) -> impl IntoView {
    let hydrated = use_hydrated();
    let id = StoredValue::new(editor.id.clone());
    let state = Editor::new(&editor);
    let saving = RwSignal::new(false);
    let status = RwSignal::new(format!("已保存 {}", short_time(&editor.updated_at)));
    let save = move || {
        if saving.get_untracked() {
            return;
        }
        saving.set(true);
        status.set("正在保存…".into());
        let sheets = state.sheets();
        let revision = state.revision.get_untracked();
        leptos::task::spawn_local(async move {
            match save_profile(id.get_value(), revision, sheets).await {
                Ok(ProfileSaveOutcome::Saved(saved)) => {
                    let when = short_time(&saved.updated_at);
                    state.saved(saved);
                    status.set(format!("已保存 {when}"));
                }
                Ok(ProfileSaveOutcome::Invalid(problems)) => {
                    state.problems.set(problems);
                    status.set("未保存：请按提示修改标出的内容（已填写的内容都还在）".into());
                }
                Ok(ProfileSaveOutcome::Conflict) => status
                    .set("未保存：档案已在其他窗口或设备上修改，请复制您的修改后刷新页面".into()),
                Err(e) => status.set(format!("未保存：{}（已填写的内容都还在）", e.message)),
            }
            saving.set(false);
        });
    };
    let basics = BASICS
        .iter()
        .map(|(label, field)| {
            let value = state.basic(field);
            let path = format!("basics.{field}");
            let path_for_class = path.clone();
            let problem = state.problem_at(path);
            let invalid = state.problem_at(path_for_class);
            let long = matches!(
                *field,
                "processes" | "hazardous_chemicals" | "raw_materials" | "major_hazard_sources" | "special_equipment"
            );
            let input = if long {
                view! {
                    <textarea rows="2" data-field=*field aria-invalid=move || invalid().is_some().to_string()
                        prop:value=move || value.get()
                        on:input=move |ev| { value.set(event_target_value(&ev)); state.dirty.set(true); }
                    ></textarea>
                }
                .into_any()
            } else {
                view! {
                    <input type="text" data-field=*field prop:value=move || value.get()
                        aria-invalid=move || invalid().is_some().to_string()
                        on:input=move |ev| { value.set(event_target_value(&ev)); state.dirty.set(true); } />
                }
                .into_any()
            };
            view! {
                <label class="field">
                    <span>{*label}</span>
                    {input}
                    <span class="field-error" role="alert">{problem}</span>
                </label>
            }
        })
        .collect_view();
    let sheets = Sheet::ALL
        .into_iter()
        .map(|sheet| view! { <SheetTable sheet state /> })
        .collect_view();
    view! {
        <section class="panel profile-bar">
            <button type="button" class="primary" data-testid="save-profile"
                disabled=move || !hydrated.get() || saving.get() on:click=move |_| save()>"保存档案"</button>
            <span class="muted" aria-live="polite" data-testid="profile-status">
                {move || status.get()} {move || state.dirty.get().then_some("（有未保存的修改）")}
            </span>
            <ProblemList state />
        </section>
        <section class="panel">
            <h2>"基本情况"</h2>
            <div class="form-grid">{basics}</div>
        </section>
        {sheets}
        <StartPlan id=id.get_value() state hydrated />
    }
}

#[component]
fn ProblemList(state: Editor) -> impl IntoView {
    view! {
        <Show when=move || state.problems.with(|p| !p.is_empty())>
            <ul class="alert problems" role="alert" data-testid="profile-problems">
                {move || state.problems.get().into_iter().map(|p| view! { <li>{p.message}</li> }).collect_view()}
            </ul>
        </Show>
    }
}

/// Writing a plan from this profile: which type, and for a special plan its category, for an
/// on-site plan its post.
#[component]
fn StartPlan(id: String, state: Editor, hydrated: ReadSignal<bool>) -> impl IntoView {
    let id = StoredValue::new(id);
    let template = RwSignal::new("emergency_plan".to_owned());
    let scope = RwSignal::new(String::new());
    let message = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let choices = move || match template.get().as_str() {
        "special_plan" => state.categories.get_value(),
        "onsite_plan" => state.posts(),
        _ => Vec::new(),
    };
    let start = move |_| {
        if state.dirty.get_untracked() {
            message.set(Some("请先保存档案，预案按已保存的档案编写".into()));
            return;
        }
        let needs = template.get_untracked() != "emergency_plan";
        let chosen = scope.get_untracked();
        let chosen = if needs && chosen.is_empty() {
            choices().into_iter().next().unwrap_or_default()
        } else {
            chosen
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match plan_from_profile(id.get_value(), template.get_untracked(), chosen).await {
                Ok(plan) => browser::go(&format!("/?plan={plan}")),
                Err(e) => {
                    message.set(Some(format!("未能开始：{}", e.message)));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <section class="panel">
            <h2>"用此档案编写预案"</h2>
            <p class="muted">"预案的人员、电话、物资、风险和岗位都取自档案；写好后逐段与档案核对，不一致处会在段落旁标出。"</p>
            <div class="plans-toolbar">
                <select aria-label="预案类型" data-testid="plan-template"
                    on:change=move |ev| { template.set(event_target_value(&ev)); scope.set(String::new()); }>
                    <option value="emergency_plan" selected>"综合应急预案"</option>
                    <option value="special_plan">"专项应急预案"</option>
                    <option value="onsite_plan">"现场处置方案"</option>
                </select>
                <Show when=move || template.get() != "emergency_plan">
                    <select aria-label="事故类别或岗位" on:change=move |ev| scope.set(event_target_value(&ev))>
                        {move || choices().into_iter().map(|c| view! { <option value=c.clone()>{c.clone()}</option> }).collect_view()}
                    </select>
                </Show>
                <button type="button" class="primary" data-testid="plan-from-profile"
                    disabled=move || !hydrated.get() || busy.get() on:click=start>"编写预案"</button>
            </div>
            <p class="alert" role="alert" hidden=move || message.with(Option::is_none)>{move || message.get()}</p>
        </section>
    }
}
