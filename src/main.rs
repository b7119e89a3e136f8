#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    yueen::startup::run_from_env().await
}

#[cfg(not(feature = "ssr"))]
pub fn main() {
    // The binary is server-only; the browser side starts from `lib.rs::hydrate`.
}
