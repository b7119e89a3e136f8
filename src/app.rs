use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::{
    components::nav::{provide_viewer, TopBar},
    pages::{
        dashboard::DashboardPage, docs::DocsPage, generator::GeneratorPage, login::LoginPage,
        not_found::NotFound,
    },
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::headers::set_page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="zh-CN">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_viewer();
    view! {
        <Stylesheet id="leptos" href="/pkg/yueen.css" />
        <Title text="Yueen 应急预案编写助手" />
        <Router>
            <TopBar />
            <main class="page">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=GeneratorPage />
                    <Route path=path!("/login") view=LoginPage />
                    <Route path=path!("/admin/cache") view=DashboardPage />
                    <Route path=path!("/docs") view=DocsPage />
                </Routes>
            </main>
        </Router>
    }
}
