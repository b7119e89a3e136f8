//! `/login`: a plain form posting to the server (works before hydration). The printed
//! `/login?token=…` link is handled by the server before this page is rendered.

use leptos::prelude::*;
use leptos_router::{hooks::use_query_map, lazy_route, LazyRoute};

/// The login form as a route whose code loads when it is opened.
pub struct LoginRoute;

#[lazy_route]
impl LazyRoute for LoginRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <LoginPage /> }.into_any()
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || {
        query
            .with(|q| q.get("next"))
            .unwrap_or_else(|| "/".to_owned())
    };
    let error = move || query.with(|q| q.get("error"));
    let failed = move || error().is_some();
    let message = move || {
        error().map(|e| match e.as_str() {
            "unconfirmed" => {
                "暂时无法确认您的登录状态（各服务实例共享的登录记录暂不可用），请重新登录。"
            }
            _ => "令牌无效，请检查后重试。",
        })
    };
    view! {
        <section class="panel narrow">
            <h1>"登录"</h1>
            <p class="muted">
                "请输入管理员或用户访问令牌（与 API 使用的 Bearer 令牌相同）。"
                "未配置任何用户时，服务启动时会生成一个临时管理员令牌：在终端运行时打印登录链接，否则写入数据目录中的 admin-token 文件（仅本机可读）。"
            </p>
            <form method="post" action="/login" class="form">
                <input type="hidden" name="next" value=next />
                <div class="field">
                    <label class="label" for="token">"访问令牌"</label>
                    <input
                        id="token"
                        name="token"
                        type="password"
                        autocomplete="current-password"
                        required
                        aria-invalid=move || failed().to_string()
                        aria-describedby="token-error"
                    />
                    <p class="field-error" id="token-error" role="alert">
                        {message}
                    </p>
                </div>
                <div class="actions">
                    <button type="submit" class="primary">"登录"</button>
                </div>
            </form>
        </section>
    }
}
