//! The top bar: brand, page links for the viewer's role, and logout.

use leptos::prelude::*;

use crate::model::{AppError, Identity, Role};

#[server(prefix = "/fn", endpoint = "whoami")]
pub async fn whoami() -> Result<Option<Identity>, AppError> {
    Ok(crate::pages::server::whoami())
}

pub type ViewerResource = Resource<Result<Option<Identity>, AppError>>;

/// Loads the viewer's role once per page and shares it.
pub fn provide_viewer() -> ViewerResource {
    let viewer = Resource::new(|| (), |_| whoami());
    provide_context(viewer);
    viewer
}

pub fn use_viewer() -> ViewerResource {
    expect_context::<ViewerResource>()
}

#[component]
pub fn TopBar() -> impl IntoView {
    let viewer = use_viewer();
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Yueen · 应急预案编写助手"</a>
            <Suspense fallback=|| ()>
                // Awaited inside `Suspend` rather than read with `.get()`: the same resource
                // also feeds the dashboard's boundary, and two `.get()` readers can stall
                // streaming SSR (leptos issues #4578, #4851).
                {move || Suspend::new(async move {
                    viewer
                        .await
                        .ok()
                        .flatten()
                        .map(|me| {
                            view! {
                                <nav class="nav" aria-label="主导航">
                                    <a href="/">"生成章节"</a>
                                    <a href="/plans">"我的预案"</a>
                                    <a href="/enterprises">"企业档案"</a>
                                    {(me.role == Role::Admin).then(|| view! { <a href="/admin/cache">"缓存看板"</a> })}
                                    <a href="/docs">"API 文档"</a>
                                    <span class="muted who-name">{me.name}</span>
                                    <span class="muted who">{me.role.label()}</span>
                                    <form method="post" action="/logout" class="inline">
                                        <button type="submit" class="link-button">"退出登录"</button>
                                    </form>
                                </nav>
                            }
                        })
                })}
            </Suspense>
        </header>
    }
}
