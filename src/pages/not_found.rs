use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(axum::http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <section class="panel">
            <h1>"页面不存在"</h1>
            <p>
                "您访问的页面不存在。" <a href="/">"返回首页"</a>
            </p>
        </section>
    }
}
