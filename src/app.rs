use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, Lazy,
};

use crate::{
    pages::nav::{provide_viewer, TopBar},
    pages::{
        dashboard::DashboardRoute,
        docs::DocsRoute,
        generator::GeneratorPage,
        login::LoginRoute,
        not_found::NotFound,
        plan::PlanStore,
        plans::PlansRoute,
        profiles::{ProfileRoute, ProfilesRoute},
        versions::VersionsRoute,
    },
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::web::headers::set_page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="zh-CN">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
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
    // The plan being written, kept (and saved) across the app's pages.
    provide_context(PlanStore::new());
    view! {
        <Title text="Yueen 应急预案编写助手" />
        <Router>
            <TopBar />
            <main class="page">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=GeneratorPage />
                    // Pages other than the generator arrive in their own wasm chunks when opened.
                    <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} />
                    <Route path=path!("/admin/cache") view={Lazy::<DashboardRoute>::new()} />
                    <Route path=path!("/docs") view={Lazy::<DocsRoute>::new()} />
                    <Route path=path!("/plans") view={Lazy::<PlansRoute>::new()} />
                    <Route path=path!("/plans/:id/versions") view={Lazy::<VersionsRoute>::new()} />
                    <Route path=path!("/enterprises") view={Lazy::<ProfilesRoute>::new()} />
                    <Route path=path!("/enterprises/:id") view={Lazy::<ProfileRoute>::new()} />
                </Routes>
            </main>
        </Router>
    }
}
