//! The home page: what Yueen writes, and the plan templates with their sections.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSummary {
    pub id: String,
    pub name: String,
    pub description: String,
    pub sections: Vec<SectionSummary>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionSummary {
    pub id: String,
    pub title: String,
}

#[server(prefix = "/fn")]
pub async fn list_templates() -> Result<Vec<TemplateSummary>, ServerFnError> {
    let state = expect_context::<crate::state::AppState>();
    Ok(state
        .generation
        .registry()
        .templates()
        .iter()
        .map(|t| TemplateSummary {
            id: t.id.clone(),
            name: t.name.clone(),
            description: t.description.clone(),
            sections: t
                .sections
                .iter()
                .map(|s| SectionSummary {
                    id: s.id.clone(),
                    title: s.title.clone(),
                })
                .collect(),
        })
        .collect())
}

#[component]
pub fn HomePage() -> impl IntoView {
    // Effects run only in the browser, so this flips once the page is hydrated.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let templates = Resource::new(|| (), |_| list_templates());

    view! {
        <section class="hero" data-hydrated=move || hydrated.get().to_string()>
            <h1>"应急预案智能编写"</h1>
            <p class="lead">
                "依据《生产经营单位生产安全事故应急预案编制导则》（GB/T 29639-2020），"
                "根据企业信息自动生成综合应急预案、专项应急预案和现场处置方案的各个章节。"
            </p>
        </section>
        <section class="panel">
            <h2>"可用的预案模板"</h2>
            <Suspense fallback=|| view! { <p class="muted">"正在加载模板…"</p> }>
                {move || {
                    templates
                        .get()
                        .map(|result| match result {
                            Ok(list) => {
                                view! {
                                    <ul class="templates">
                                        {list
                                            .into_iter()
                                            .map(|t| view! { <TemplateCard template=t /> })
                                            .collect_view()}
                                    </ul>
                                }
                                    .into_any()
                            }
                            Err(_) => {
                                view! { <p class="error">"模板加载失败，请刷新页面重试。"</p> }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn TemplateCard(template: TemplateSummary) -> impl IntoView {
    let open = RwSignal::new(false);
    let list_id = format!("sections-{}", template.id);
    let count = template.sections.len();
    view! {
        <li class="template" data-template=template.id.clone()>
            <h3>{template.name}</h3>
            <p class="muted">{template.description}</p>
            <button
                type="button"
                class="link-button"
                aria-expanded=move || open.get().to_string()
                aria-controls=list_id.clone()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {move || if open.get() { "收起章节".to_owned() } else { format!("查看章节（{count}）") }}
            </button>
            <ol class="sections" id=list_id hidden=move || !open.get()>
                {template
                    .sections
                    .into_iter()
                    .map(|s| view! { <li data-section=s.id>{s.title}</li> })
                    .collect_view()}
            </ol>
        </li>
    }
}
