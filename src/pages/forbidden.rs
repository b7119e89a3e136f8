use leptos::prelude::*;

/// Shown to logged-in users without admin rights; the server sends it with status 403.
#[component]
pub fn Forbidden() -> impl IntoView {
    view! {
        <section class="panel">
            <h1>"403 · 无权访问"</h1>
            <p>"此页面仅限管理员访问。如需查看缓存看板，请使用管理员令牌登录。"</p>
            <p>
                <a href="/">"返回生成页面"</a>
            </p>
        </section>
    }
}
