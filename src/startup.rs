//! Building and running the application: services from settings, the router, the listener.
//! Tests call `Application::build` with their own settings and port 0.

use std::{
    net::SocketAddr,
    process::ExitCode,
    sync::{atomic::AtomicBool, Arc},
    time::Duration,
};

use axum::{
    http::{header, StatusCode},
    middleware,
    response::{IntoResponse, Response},
    Router,
};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tower_http::{catch_panic::CatchPanicLayer, trace::TraceLayer};

use crate::{
    ai::AiService,
    api,
    app::{shell, App},
    auth::{self, Auth, Tokens},
    cache::{history::History, CacheService},
    config::Settings,
    coord::Coordination,
    deployment::Deployment,
    enterprises::EnterpriseService,
    export,
    generation::GenerationService,
    jobs::{feed::Feed, Jobs, Stores},
    kv::Kv,
    metrics::Metrics,
    plans::PlanService,
    state::{AppState, Shared},
    templates::Registry,
    usage::{ledger::Prices, Accounts},
    warmup::{self, Warmup},
    web::{
        assets,
        edge::{self, Edge},
        ops, serve, shutdown,
    },
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{0}")]
    Templates(#[from] crate::templates::RegistryError),
    #[error("预案库配置错误: {0}")]
    Store(String),
    #[error("无法创建 HTTP 客户端: {0}")]
    HttpClient(#[from] reqwest::Error),
    #[error("无法监听地址 {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    limits: serve::Limits,
    stopping: shutdown::Stopping,
    router: Router,
    state: AppState,
    addr: SocketAddr,
    generated_admin_token: Option<SecretString>,
}

impl Application {
    pub async fn build(
        settings: Settings,
        leptos_options: LeptosOptions,
    ) -> Result<Self, StartupError> {
        let registry = Arc::new(Registry::load(settings.server.templates_path.as_deref())?);
        tracing::info!("已加载 {} 个预案模板", registry.templates().len());
        let plans = Arc::new(
            PlanService::new(&settings.store, registry.clone()).map_err(StartupError::Store)?,
        );
        // Ready from the first request when the database answers in time (the schema brought
        // up to date); one that is down is retried in the background, it does not stop the app.
        let _ = tokio::time::timeout(settings.store.timeout, plans.probe()).await;
        plans.spawn_housekeeping();
        let enterprises = Arc::new(EnterpriseService::new(
            plans.clone(),
            registry.clone(),
            settings.store.max_enterprises_per_user,
        ));

        let kv = Kv::start(&settings.cache).await;
        let cache = CacheService::new(kv.clone(), &settings.cache);
        let coord = Coordination::new(kv, &settings.cache.key_prefix);
        let ai = Arc::new(AiService::from_settings(&settings.ai)?);
        if ai.is_mock() {
            tracing::info!("AI 服务已启动，未配置 OPENAI_API_KEY，使用模拟生成器");
        } else {
            tracing::info!("AI 服务已启动，使用模型: {}", ai.model());
        }

        // Only when nobody at all could log in: a configured user of any kind is enough.
        let generated_admin_token = (!settings.auth.has_users()).then(auth::generated::new_token);
        warn_of_bare_tokens(&settings.auth);
        let tokens = Tokens::new(&settings.auth, generated_admin_token.as_ref());

        let listener = TcpListener::bind(settings.server.addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: settings.server.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.server.addr,
            source,
        })?;

        let accounts = Arc::new(Accounts::new(
            coord.clone(),
            tokens.users(),
            settings.limits,
            Prices {
                input_per_mtok: settings.ai.price_input_per_mtok,
                output_per_mtok: settings.ai.price_output_per_mtok,
                currency: settings.ai.price_currency.clone(),
            },
            // Renewed while its generation runs: an instance that dies frees its users'
            // places within this long.
            Duration::from_secs(60),
        ));
        let metrics = Arc::new(Metrics::new(cache.clone(), ai.clone(), accounts.clone()));
        let metrics_listener = match settings.server.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartupError::Bind { addr, source })?,
            ),
            None => None,
        };
        let openapi = api::openapi::document(&registry).into();
        let generation = Arc::new(
            GenerationService::new(registry, cache.clone(), coord.clone(), ai, accounts)
                .with_plan_concurrency(settings.ai.plan_concurrency)
                .keeping_incomplete(settings.cache.keep_incomplete),
        );
        let history = Arc::new(History::new(HISTORY_POINTS));
        let deployment = Arc::new(Deployment::new(
            addr,
            generation.clone(),
            cache.clone(),
            coord.clone(),
            history.clone(),
            HISTORY_INTERVAL,
            settings.server.report_interval,
        ));
        let stopping = tokio_util::sync::CancellationToken::new();
        let tokens = Arc::new(tokens);
        let jobs = Jobs::new(
            Stores {
                plans: plans.clone(),
                enterprises: enterprises.clone(),
            },
            generation.clone(),
            tokens.clone(),
            Arc::new(Feed::new(coord.clone())),
            deployment.id().to_owned(),
            settings.store.job_lease,
            stopping.clone(),
        );
        jobs.spawn_watch();
        let state = AppState::new(Shared {
            leptos_options: {
                let mut options = leptos_options;
                options.site_addr = addr;
                options
            },
            auth: Arc::new(auth(&settings, tokens, coord.clone())),
            deployment,
            generation,
            cache,
            coord,
            plans,
            enterprises,
            jobs,
            body_limit: settings.server.body_limit_bytes,
            history,
            metrics,
            warmup: Arc::new(Warmup::default()),
            openapi,
            stream_deadline: settings.server.stream_deadline,
            ready: Arc::new(AtomicBool::new(true)),
            last_call: tokio_util::sync::CancellationToken::new(),
            stopping,
        });
        if let Some(path) = &settings.server.warmup_file {
            start_file_warmup(&state, path);
        }
        spawn_history_sampler(&state);
        state.deployment.spawn_reports();
        spawn_throttle_sweeper(&state);
        Ok(Self {
            listener,
            metrics_listener,
            limits: serve::Limits {
                max_connections: settings.server.max_connections,
                max_per_ip: settings.server.max_connections_per_ip,
                trusted_proxies: settings.server.trusted_proxies.clone().into(),
                header_read_timeout: settings.server.header_read_timeout,
                body_read_timeout: settings.server.body_read_timeout,
                write_timeout: settings.server.write_timeout,
                drain: settings.server.shutdown_timeout,
            },
            stopping: shutdown::Stopping {
                drain: settings.server.shutdown_drain,
                timeout: settings.server.shutdown_timeout,
            },
            router: router(
                state.clone(),
                settings.server.body_limit_bytes,
                settings.server.request_timeout,
            ),
            state,
            addr,
            generated_admin_token,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin token made up at startup when none was configured.
    pub fn generated_admin_token(&self) -> Option<&SecretString> {
        self.generated_admin_token.as_ref()
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub async fn run(self) -> std::io::Result<()> {
        if let Some(listener) = self.metrics_listener {
            let metrics = ops::metrics_only(self.state.metrics.clone());
            tokio::spawn(serve::serve(
                listener,
                metrics,
                self.limits.clone(),
                std::future::pending(),
                tokio_util::sync::CancellationToken::new(),
            ));
        }
        let ready = self.state.ready.clone();
        let stopping = self.stopping;
        let since = serve::serve(
            self.listener,
            self.router,
            self.limits,
            shutdown::until_listener_closes(ready, stopping.drain, self.state.stopping.clone()),
            self.state.last_call.clone(),
        )
        .await;
        shutdown::finish(&self.state, since, stopping.timeout).await;
        Ok(())
    }
}

/// Sessions, login throttling and the origin this site answers as.
fn auth(settings: &Settings, tokens: Arc<Tokens>, store: Arc<Coordination>) -> Auth {
    let secret = settings.auth.session_secret.as_ref();
    if secret.is_none() {
        tracing::warn!(
            "未设置 SESSION_SECRET：已为本进程生成随机会话密钥，重启后需要重新登录；多实例部署必须设置同一个 SESSION_SECRET"
        );
    }
    let public_url = settings.server.public_url.as_deref();
    Auth {
        tokens,
        sessions: Arc::new(auth::session::Sessions::new(
            secret.map(|s| s.expose_secret().as_bytes()),
            settings.auth.session_ttl,
        )),
        store,
        confirmed: Arc::default(),
        failures: Arc::new(auth::throttle::Failures::new(
            settings.auth.login_attempts_per_minute,
        )),
        trusted_proxies: settings.server.trusted_proxies.clone().into(),
        public_origin: public_url
            .and_then(|u| url::Url::parse(u).ok())
            .map(|u| u.origin().ascii_serialization()),
        secure_cookies: public_url.is_some_and(|u| u.starts_with("https://")),
    }
}

/// Forgets, every minute, the addresses whose wrong tokens are back to nothing, so the
/// throttle holds only recent ones.
fn spawn_throttle_sweeper(state: &AppState) {
    crate::periodic::spawn_every(
        &state.auth.failures,
        Duration::from_secs(60),
        async |failures| failures.forget_idle(),
    );
}

/// Queues the startup warm-up in the background; a bad file is reported, never fatal.
fn start_file_warmup(state: &AppState, path: &std::path::Path) {
    match warmup::read_file(path) {
        Ok(entries) => {
            tracing::info!("开始缓存预热：{} 共 {} 项", path.display(), entries.len());
            state.warmup.start(
                state.generation.clone(),
                format!("启动预热 {}", path.display()),
                entries,
            );
        }
        Err(e) => tracing::error!("缓存预热未执行: {e}"),
    }
}

/// The dashboard chart: one point every `HISTORY_INTERVAL`, the last `HISTORY_POINTS` kept
/// (ten minutes).
const HISTORY_INTERVAL: Duration = Duration::from_secs(10);
const HISTORY_POINTS: usize = 60;

fn spawn_history_sampler(state: &AppState) {
    let history = state.history.clone();
    // Ends with the app: the sampler holds only a weak reference to the services.
    crate::periodic::spawn_every(&state.cache, HISTORY_INTERVAL, move |cache| {
        let stats = cache.stats();
        history.record(stats.total_requests, stats.hits);
        std::future::ready(())
    });
}

/// The whole router: each area brings its own routes, and the layers around them are stacked
/// here, in one place, outermost last.
///
/// - The site (pages, server functions, their files, logging in and out, the export forms)
///   passes the session gate, the same-origin guard, compression and the cache policy.
/// - The JSON API (Bearer tokens, no cookie) and the probes skip those: the shortest path for a
///   hit.
/// - Every request passes the panic catcher, the edge (deadline, headers, metrics) and tracing.
fn router(state: AppState, body_limit: usize, request_timeout: Duration) -> Router {
    let site = pages(&state)
        .merge(auth::login::router())
        .merge(export::http::router())
        .nest("/pkg", assets::pkg_router(&state.leptos_options))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn(crate::web::drain::finish_pages))
        // Server functions read their bodies themselves: bounded here, by the largest a page
        // sends (an export form; a saved plan is smaller).
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            export::MAX_FORM_BYTES,
        ))
        .layer(assets::compression())
        .layer(middleware::from_fn(assets::cache_policy))
        .layer(middleware::from_fn_with_state(
            state.auth.clone(),
            auth::gate::gate,
        ))
        .layer(middleware::from_fn_with_state(
            state.auth.clone(),
            auth::origin::guard,
        ));
    site.merge(api::router(body_limit))
        .merge(ops::router())
        // Innermost, so a panic's answer still gets the headers and is counted.
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(
            Arc::new(Edge {
                deadline: request_timeout,
                metrics: state.metrics.clone(),
                ready: state.ready.clone(),
            }),
            edge::edge,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The pages and their server functions, rendered with the app's state in their context.
fn pages(state: &AppState) -> Router<AppState> {
    let leptos_state = state.clone();
    let options = state.leptos_options.clone();
    Router::new().leptos_routes_with_context(
        state,
        route_list(),
        move || leptos::prelude::provide_context(leptos_state.clone()),
        move || shell(options.clone()),
    )
}

/// The app's route list, made once per process. Generating it suppresses resource loading
/// process-wide for a moment, which would hang a page rendering at the same time in another
/// app instance of the same process (leptos issue #4773; tests run many instances).
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// A handler panic is a bug; answer in the API's shape rather than dropping the connection.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("请求处理时发生内部错误（panic）");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"success":false,"error":{"code":"INTERNAL_ERROR","message":"服务器内部错误"}}"#,
    )
        .into_response()
}

/// `USER_TOKENS` entries without a name are known by their place in the list: removing or
/// reordering one before them hands their plans, usage and sessions to another token.
fn warn_of_bare_tokens(auth: &crate::config::AuthSettings) {
    let bare: Vec<String> = auth
        .user_tokens
        .iter()
        .zip(auth.user_token_names())
        .filter(|(entry, _)| entry.name.is_none())
        .map(|(_, name)| name)
        .collect();
    if !bare.is_empty() {
        tracing::warn!(
            "USER_TOKENS 中有 {} 个令牌没有名称（{}）：它们的身份取决于在列表中的位置，删除或调整前面的令牌会让其预案、用量和会话归到另一个令牌名下。请写成“名称:令牌”，例如 张三:<令牌>",
            bare.len(),
            bare.join("、")
        );
    }
}

/// The binary's entry: settings from `Leptos.toml`/`.env`/environment, logs, serve.
pub async fn run_from_env() -> ExitCode {
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("配置错误: {e}");
            return ExitCode::from(2);
        }
    };
    let _log_guard =
        match crate::telemetry::init(&settings.server.log_dir, settings.server.log_keep_days) {
            Ok(guard) => guard,
            Err(e) => {
                eprintln!(
                    "无法创建日志目录 {}: {e}",
                    settings.server.log_dir.display()
                );
                return ExitCode::from(2);
            }
        };
    let mut leptos_options = match leptos::config::get_configuration(None) {
        Ok(conf) => conf.leptos_options,
        Err(e) => {
            tracing::error!("Leptos 配置错误: {e}");
            return ExitCode::from(2);
        }
    };
    if leptos_options.output_name.is_empty() {
        leptos_options.output_name = env!("CARGO_PKG_NAME").into();
    }
    crate::web::assets::resolve_names(&mut leptos_options);
    crate::web::assets::check_site(&leptos_options);
    let public_url = settings.server.public_url.clone();
    let data_dir = settings.store.data_dir.clone();
    let app = match Application::build(settings, leptos_options).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("启动失败: {e}");
            return ExitCode::FAILURE;
        }
    };
    let base = public_url.unwrap_or_else(|| format!("http://{}", app.addr()));
    tracing::info!("服务已启动: {base}");
    if let Some(token) = app.generated_admin_token() {
        auth::generated::announce(token, &base, &data_dir);
    }
    match app.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("服务异常退出: {e}");
            ExitCode::FAILURE
        }
    }
}
