//! `/docs`: the API documentation, rendered from the generated OpenAPI document with nothing
//! loaded from outside the app.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use crate::model::{AppError, DocsView, OperationView};

#[server(prefix = "/fn", endpoint = "docs_view")]
pub async fn load_docs() -> Result<DocsView, AppError> {
    Ok(super::server::docs_view())
}

/// The documentation as a route whose code loads when it is opened.
pub struct DocsRoute;

#[lazy_route]
impl LazyRoute for DocsRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <DocsPage /> }.into_any()
    }
}

#[component]
pub fn DocsPage() -> impl IntoView {
    let docs = Resource::new(|| (), |_| load_docs());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"正在加载文档…"</p> }>
            {move || {
                docs.get()
                    .map(|result| match result {
                        Ok(d) => view! { <Docs d /> }.into_any(),
                        Err(e) => view! { <p class="alert">"文档加载失败：" {e.to_string()}</p> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Docs(d: DocsView) -> impl IntoView {
    view! {
        <section class="hero">
            <h1>{d.title}</h1>
            <p class="lead">{d.description}</p>
            <p class="muted">
                "版本 " {d.version} " · 认证：请求头 " <code>"Authorization: Bearer <令牌>"</code> " · "
                <a href="/api/openapi.json">"OpenAPI JSON"</a>
            </p>
        </section>
        {d.operations.into_iter().map(|op| view! { <Operation op /> }).collect_view()}
        <section class="panel">
            <h2>"数据结构"</h2>
            {d
                .schemas
                .into_iter()
                .map(|s| {
                    let anchor = format!("schema-{}", s.name);
                    view! {
                        <details class="schema" id=anchor>
                            <summary>{s.name}</summary>
                            <pre>{s.json}</pre>
                        </details>
                    }
                })
                .collect_view()}
        </section>
    }
}

#[component]
fn Operation(op: OperationView) -> impl IntoView {
    let method_class = format!("method {}", op.method.to_lowercase());
    let data_path = op.path.clone();
    view! {
        <section class="panel operation" data-path=data_path>
            <h2>
                <span class=method_class>{op.method}</span>
                " "
                <code>{op.path}</code>
            </h2>
            <p>
                <strong>{op.summary}</strong>
            </p>
            {(!op.description.is_empty()).then(|| view! { <p class="muted">{op.description}</p> })}
            {op
                .request_schema
                .map(|name| {
                    view! {
                        <p>
                            "请求体：" <a href=format!("#schema-{name}")>{name.clone()}</a>
                        </p>
                    }
                })}
            <table class="responses">
                <thead>
                    <tr>
                        <th scope="col">"状态"</th>
                        <th scope="col">"说明"</th>
                        <th scope="col">"响应体"</th>
                    </tr>
                </thead>
                <tbody>
                    {op
                        .responses
                        .into_iter()
                        .map(|r| {
                            view! {
                                <tr>
                                    <td>{r.status}</td>
                                    <td>{r.description}</td>
                                    <td>
                                        {r
                                            .schema
                                            .map(|name| {
                                                view! {
                                                    <a href=format!("#schema-{name}")>{name.clone()}</a>
                                                }
                                            })}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </section>
    }
}
