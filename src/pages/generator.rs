//! The generator page (`/`): pick a template and section, fill in the enterprise form, get the
//! section. What the user types is kept in `localStorage`, so a reload or an error loses nothing.

use std::collections::BTreeMap;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::plan::{enterprise_data, write_into, LazyPlanPanel, PlanStore};
use crate::{
    browser,
    components::{
        check::{CheckLine, MarkedText},
        template_select::TemplateSelect,
    },
    model::{
        AppError, FieldKind, FieldSpec, GenerateBody, PlanSection, Quota, SectionId, SectionStatus,
        TemplateView,
    },
};

const DRAFT_KEY: &str = "yueen.generator.draft.v1";

#[server(prefix = "/fn", endpoint = "list_templates")]
pub async fn list_templates() -> Result<Vec<TemplateView>, AppError> {
    Ok(super::server::Door::writer()?.templates())
}

/// Everything the user has entered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Draft {
    template_id: String,
    section_id: String,
    values: BTreeMap<String, String>,
}

/// The same checks the server makes, so most mistakes are shown before a round trip.
fn check(fields: &[FieldSpec], values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    for f in fields {
        let value = values.get(&f.id).map(|v| v.trim()).unwrap_or("");
        let label = &f.label;
        let problem = if value.is_empty() {
            f.required.then(|| format!("请填写{label}"))
        } else if f.kind == FieldKind::Integer {
            match value.parse::<i64>() {
                Err(_) => Some(format!("{label}应为整数")),
                Ok(n) if f.min.is_some_and(|min| n < min) => {
                    Some(format!("{label}不能小于 {}", f.min.unwrap_or_default()))
                }
                Ok(n) if f.max.is_some_and(|max| n > max) => {
                    Some(format!("{label}不能大于 {}", f.max.unwrap_or_default()))
                }
                Ok(_) => None,
            }
        } else {
            let len = value.chars().count();
            f.max_len
                .filter(|max| len > *max)
                .map(|max| format!("{label}不能超过 {max} 个字符（当前 {len} 个）"))
        };
        if let Some(problem) = problem {
            errors.insert(f.id.clone(), problem);
        }
    }
    errors
}

#[component]
pub fn GeneratorPage() -> impl IntoView {
    let templates = Resource::new(|| (), |_| list_templates());
    view! {
        <section class="hero">
            <h1>"生成预案章节"</h1>
            <p class="lead">
                "依据 GB/T 29639-2020，根据企业信息生成综合应急预案、专项应急预案和现场处置方案的章节。"
                "带 * 的为必填项；填写内容会自动保存在本机浏览器中，生成的整份预案自动保存到“我的预案”。"
            </p>
        </section>
        <Suspense fallback=|| view! { <p class="muted">"正在加载模板…"</p> }>
            {move || {
                templates
                    .get()
                    .map(|result| match result {
                        Ok(list) if !list.is_empty() => view! { <Generator templates=list /> }.into_any(),
                        Ok(_) => view! { <p class="alert">"没有可用的模板。"</p> }.into_any(),
                        Err(e) => {
                            view! {
                                <p class="alert" role="alert">
                                    "模板加载失败：" {e.to_string()} " " <a href="/login">"重新登录"</a>
                                </p>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Generator(templates: Vec<TemplateView>) -> impl IntoView {
    let templates = StoredValue::new(templates);
    let default_draft = templates.with_value(|list| {
        let t = &list[0];
        Draft {
            template_id: t.id.clone(),
            section_id: t
                .sections
                .iter()
                .find(|s| s.id == "2")
                .or(t.sections.first())
                .map(|s| s.id.clone())
                .unwrap_or_default(),
            values: BTreeMap::new(),
        }
    });
    let draft = RwSignal::new(default_draft);
    let errors = RwSignal::new(BTreeMap::<String, String>::new());
    let hydrated = RwSignal::new(false);
    let copied = RwSignal::new(None::<bool>);
    // The one section being written or last written, as the result panel shows it.
    let single = RwSignal::new(None::<PlanSection>);

    // Restore what was typed before a reload, then keep saving every change.
    Effect::new(move |_| {
        if let Some(saved) =
            browser::load(DRAFT_KEY).and_then(|s| serde_json::from_str::<Draft>(&s).ok())
        {
            let known = templates.with_value(|list| {
                list.iter().any(|t| {
                    t.id == saved.template_id && t.sections.iter().any(|s| s.id == saved.section_id)
                })
            });
            if known {
                draft.set(saved);
            }
        }
        hydrated.set(true);
    });
    Effect::new(move |_| {
        let current = draft.get();
        if hydrated.get() {
            if let Ok(json) = serde_json::to_string(&current) {
                let _ = browser::save(DRAFT_KEY, &json);
            }
        }
    });

    let template = Memo::new(move |_| {
        let id = draft.with(|d| d.template_id.clone());
        templates.with_value(|list| {
            list.iter()
                .find(|t| t.id == id)
                .cloned()
                .unwrap_or_else(|| list[0].clone())
        })
    });

    // The app's one plan store: a save still on its way when the writer opens another page
    // lands all the same.
    let plan = expect_context::<PlanStore>();
    // `/?plan=<id>` (from 我的预案) opens that saved plan, form included; otherwise the page picks
    // up the plan this browser had last, once it knows whose browser buffers to read.
    let opening = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("plan"));
    {
        let opening = opening.clone();
        let viewer = super::nav::use_viewer();
        Effect::new(move |begun: Option<bool>| {
            if begun == Some(true) {
                return true;
            }
            let Some(Ok(Some(me))) = viewer.get() else {
                return false;
            };
            plan.sync.begin(me.name, opening.clone());
            true
        });
    }
    if opening.is_some() {
        Effect::new(move |_| {
            if plan.sync.opened.get() == 0 {
                return;
            }
            let Some((template_id, values)) = plan.plan().with_untracked(|p| {
                p.as_ref()
                    .map(|p| (p.template_id.clone(), p.data.to_form()))
            }) else {
                return;
            };
            let first_section = templates.with_value(|list| {
                list.iter()
                    .find(|t| t.id == template_id)
                    .and_then(|t| t.sections.first())
                    .map(|s| s.id.clone())
            });
            if let Some(section_id) = first_section {
                draft.set(Draft {
                    template_id,
                    section_id,
                    values,
                });
            }
        });
    }
    // The form's values when they pass the checks; otherwise the problems are shown.
    let checked = move || -> Option<(Draft, BTreeMap<String, String>)> {
        let d = draft.get_untracked();
        let fields = template.with_untracked(|t| t.fields.clone());
        let found = check(&fields, &d.values);
        if let Some(first) = fields.iter().find(|f| found.contains_key(&f.id)) {
            browser::focus(&format!("field-{}", first.id));
        }
        errors.set(found.clone());
        if !found.is_empty() {
            return None;
        }
        let values = d
            .values
            .iter()
            .filter(|(k, v)| fields.iter().any(|f| &f.id == *k) && !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Some((d, values))
    };
    let whole_plan = move || {
        if let Some((_, values)) = checked() {
            let template = template.get_untracked();
            plan.start(&template, enterprise_data(&template, &values));
        }
    };
    // Streams the chosen section into the result panel as the model writes it.
    let submit = move |refresh: bool| {
        let Some((d, values)) = checked() else {
            return;
        };
        copied.set(None);
        let body = GenerateBody {
            template_id: d.template_id,
            section_id: SectionId(d.section_id.clone()),
            data: template.with_untracked(|t| enterprise_data(t, &values)),
            refresh: refresh.then_some(true),
            context: None,
        };
        single.set(Some(PlanSection::new(&d.section_id, "")));
        leptos::task::spawn_local(write_into(body, move |f| {
            single.update(|s| s.iter_mut().for_each(&mut *f))
        }));
    };

    let on_template = move |id: String| {
        let first_section = templates.with_value(|list| {
            list.iter()
                .find(|t| t.id == id)
                .and_then(|t| t.sections.first())
                .map(|s| s.id.clone())
                .unwrap_or_default()
        });
        errors.set(BTreeMap::new());
        draft.update(|d| {
            d.template_id = id;
            d.section_id = first_section;
        });
    };

    let busy = move || single.with(|s| s.as_ref().is_some_and(|s| !s.is_settled()));
    let plan_busy = plan.busy();

    view! {
        <div class="generator">
            <form
                class="panel form"
                novalidate
                on:submit=move |ev| {
                    ev.prevent_default();
                    submit(false);
                }
            >
                <div class="row">
                    <label class="field">
                        <span class="label">"预案模板"</span>
                        <TemplateSelect
                            name="template_id"
                            templates
                            value=Signal::derive(move || draft.with(|d| d.template_id.clone()))
                            on_change=on_template
                        />
                    </label>
                    <label class="field">
                        <span class="label">"章节"</span>
                        <select
                            name="section_id"
                            prop:value=move || draft.with(|d| d.section_id.clone())
                            on:change=move |ev| {
                                let id = event_target_value(&ev);
                                draft.update(|d| d.section_id = id);
                            }
                        >
                            {move || {
                                let selected = draft.with(|d| d.section_id.clone());
                                template
                                    .get()
                                    .sections
                                    .into_iter()
                                    .map(|s| {
                                        let is_selected = s.id == selected;
                                        view! {
                                            <option value=s.id.clone() selected=is_selected>
                                                {format!("{}. {}", s.id, s.title)}
                                            </option>
                                        }
                                    })
                                    .collect_view()
                            }}
                        </select>
                    </label>
                </div>
                <fieldset class="fields">
                    <legend>"企业信息"</legend>
                    <For
                        each=move || template.get().fields
                        key=|f| f.id.clone()
                        children=move |f| view! { <FieldInput field=f draft errors /> }
                    />
                </fieldset>
                <div class="actions">
                    <button type="submit" class="primary" disabled=move || !hydrated.get() || busy()>
                        {move || if busy() { "正在生成…" } else { "生成章节" }}
                    </button>
                    <button
                        type="button"
                        disabled=move || !hydrated.get() || plan_busy.get()
                        on:click=move |_| whole_plan()
                    >
                        {move || if plan_busy.get() { "正在生成整份预案…" } else { "生成整份预案" }}
                    </button>
                    <span class="muted" aria-live="polite">
                        {move || busy().then_some("正在调用 AI 生成，请稍候…")}
                    </span>
                </div>
                <QuotaLine refresh=Signal::derive(move || (busy(), plan_busy.get())) />
            </form>
            <ResultPanel single copied on_refresh=move || submit(true) busy=Signal::derive(busy) />
            <OpenProblem store=plan />
            <LazyPlanPanel store=plan />
        </div>
    }
}

/// Why a plan asked for (`/?plan=<id>`) could not be opened; once open, the plan's own panel
/// says how its saving goes.
#[component]
fn OpenProblem(store: PlanStore) -> impl IntoView {
    let sync = store.sync;
    move || {
        let missing = store.plan().with(Option::is_none);
        match sync.state.get() {
            crate::pages::sync::SaveState::Refused(why) if missing => Some(view! {
                <p class="alert" role="alert" data-testid="open-problem">
                    {why} " " <a href="/plans">"返回我的预案"</a>
                </p>
            }),
            _ => None,
        }
    }
}

#[server(prefix = "/fn", endpoint = "my_quota")]
pub async fn my_quota() -> Result<Quota, AppError> {
    Ok(super::server::Door::writer()?.quota().await)
}

/// The writer's own allowance: tokens used and left today, requests this minute. Read again
/// whenever a generation settles.
#[component]
fn QuotaLine(refresh: Signal<(bool, bool)>) -> impl IntoView {
    let quota = Resource::new(move || refresh.get(), |_| my_quota());
    view! {
        <Transition fallback=|| ()>
            {move || quota.get().and_then(Result::ok).map(|q| view! { <QuotaView q /> })}
        </Transition>
    }
}

#[component]
fn QuotaView(q: Quota) -> impl IntoView {
    let tokens = match (q.limits.tokens_per_day, q.tokens_left_today) {
        (Some(limit), Some(left)) => {
            format!(
                "今日已用 {} tokens，剩余 {left}（每日 {limit}）",
                q.tokens_today
            )
        }
        _ => format!("今日已用 {} tokens（不限额）", q.tokens_today),
    };
    let requests = match q.limits.requests_per_minute {
        Some(limit) => format!("本分钟已请求 {} 次（上限 {limit}）", q.requests_this_minute),
        None => format!("本分钟已请求 {} 次", q.requests_this_minute),
    };
    let spent = q.tokens_left_today == Some(0);
    view! {
        <p class="muted quota" data-testid="quota">
            {format!("{}：{tokens}；{requests}", q.name)}
        </p>
        {spent.then(|| view! {
            <p class="alert" role="alert" data-testid="quota-spent">
                "今日的用量额度已用完，北京时间明天 0 点恢复；如需更多额度请联系管理员。"
            </p>
        })}
    }
}

#[component]
fn FieldInput(
    field: FieldSpec,
    draft: RwSignal<Draft>,
    errors: RwSignal<BTreeMap<String, String>>,
) -> impl IntoView {
    let id = field.id.clone();
    let input_id = format!("field-{id}");
    let error_id = format!("error-{id}");
    let value = {
        let id = id.clone();
        move || draft.with(|d| d.values.get(&id).cloned().unwrap_or_default())
    };
    let on_input = {
        let id = id.clone();
        move |ev| {
            let v = event_target_value(&ev);
            draft.update(|d| {
                d.values.insert(id.clone(), v);
            });
            errors.update(|e| {
                e.remove(&id);
            });
        }
    };
    let error = {
        let id = id.clone();
        move || errors.with(|e| e.get(&id).cloned())
    };
    let invalid = {
        let error = error.clone();
        move || error().is_some().to_string()
    };
    let placeholder = field.placeholder.clone().unwrap_or_default();
    let control = if field.kind == FieldKind::Textarea {
        view! {
            <textarea
                id=input_id.clone()
                name=id.clone()
                rows="3"
                placeholder=placeholder
                aria-invalid=invalid
                aria-describedby=error_id.clone()
                prop:value=value
                on:input=on_input
            ></textarea>
        }
        .into_any()
    } else {
        let integer = field.kind == FieldKind::Integer;
        let kind = if integer { "number" } else { "text" };
        view! {
            <input
                id=input_id.clone()
                name=id.clone()
                type=kind
                inputmode=if integer { "numeric" } else { "text" }
                placeholder=placeholder
                aria-invalid=invalid
                aria-describedby=error_id.clone()
                prop:value=value
                on:input=on_input
            />
        }
        .into_any()
    };
    view! {
        <div class="field" class:wide=field.kind == FieldKind::Textarea>
            <label class="label" for=input_id>
                {field.label}
                {field.required.then(|| view! { <span class="required" aria-hidden="true">" *"</span> })}
            </label>
            {control}
            <p class="field-error" id=error_id role="alert">
                {error}
            </p>
        </div>
    }
}

#[component]
fn ResultPanel(
    single: RwSignal<Option<PlanSection>>,
    copied: RwSignal<Option<bool>>,
    on_refresh: impl Fn() + Copy + Send + Sync + 'static,
    busy: Signal<bool>,
) -> impl IntoView {
    move || {
        single.get().map(|result| {
            if result.text().is_empty() {
                return match result.error {
                    Some(error) => view! {
                        <div class="alert" role="alert">
                            <strong>"生成失败："</strong>
                            {error.message}
                            <p class="muted">"您填写的内容已保留，可以稍后重试。"</p>
                        </div>
                    }
                    .into_any(),
                    None => view! {
                        <p class="muted result-waiting" aria-live="polite">"正在连接 AI…"</p>
                    }
                    .into_any(),
                };
            }
            view! { <SectionView result copied on_refresh busy /> }.into_any()
        })
    }
}

#[component]
fn SectionView(
    result: PlanSection,
    copied: RwSignal<Option<bool>>,
    on_refresh: impl Fn() + Copy + Send + Sync + 'static,
    busy: Signal<bool>,
) -> impl IntoView {
    let text = StoredValue::new(result.text().to_owned());
    let writing = !result.is_settled();
    let meta = match result.elapsed_ms {
        Some(ms) => format!("用时 {ms} 毫秒 · 模型：{}", result.model),
        None => "正在编写…".to_owned(),
    };
    let done = result.status == SectionStatus::Done;
    view! {
        <article class="panel result" aria-live="polite" aria-busy=writing.to_string()>
            <header class="result-head">
                <h2>{result.section_title.clone()}</h2>
                {(done && result.cached && !result.stale)
                    .then(|| view! { <span class="badge" data-testid="cached">"来自缓存"</span> })}
                {(done && result.stale)
                    .then(|| view! { <span class="badge stale">"已过期，建议稍后重新生成"</span> })}
            </header>
            <p class="muted meta">{meta}</p>
            {result.error.map(|error| view! {
                <p class="alert" role="alert">{error.message}</p>
            })}
            <div class="result-actions">
                <button
                    type="button"
                    on:click=move |_| {
                        browser::copy(text.get_value(), move |ok| copied.set(Some(ok)));
                    }
                >
                    "复制全文"
                </button>
                <button type="button" disabled=move || busy.get() on:click=move |_| on_refresh()>
                    "重新生成"
                </button>
                <span class="muted" aria-live="polite">
                    {move || match copied.get() {
                        Some(true) => "已复制到剪贴板",
                        Some(false) => "复制失败，请手动选择文本复制",
                        None => "",
                    }}
                </span>
            </div>
            {result.check.clone().map(|check| view! { <CheckLine check text=text.get_value() /> })}
            <div class="content" data-testid="content">
                <MarkedText text=text.get_value() />
            </div>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(id: &str, kind: FieldKind, required: bool) -> FieldSpec {
        FieldSpec {
            id: id.into(),
            label: "字段".into(),
            kind,
            required,
            max_len: Some(3),
            min: Some(1),
            max: Some(10),
            placeholder: None,
            example: None,
        }
    }

    #[test]
    fn browser_checks_match_the_servers_rules() {
        let fields = [
            field("a", FieldKind::Text, true),
            field("b", FieldKind::Integer, false),
            field("c", FieldKind::Text, false),
        ];
        let values = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let errors = check(
            &fields,
            &values(&[("a", "  "), ("b", "x"), ("c", "四个字符")]),
        );
        assert_eq!(errors["a"], "请填写字段");
        assert_eq!(errors["b"], "字段应为整数");
        assert_eq!(errors["c"], "字段不能超过 3 个字符（当前 4 个）");
        let errors = check(&fields, &values(&[("a", "好"), ("b", "11")]));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors["b"], "字段不能大于 10");
        assert!(check(&fields, &values(&[("a", "好"), ("b", "5")])).is_empty());
    }
}
