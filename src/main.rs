// glibc's allocator serialises the worker threads on its arena locks under load (seen in the
// cache-hit profile, BENCHMARKS.md); mimalloc keeps per-thread heaps.
#[cfg(feature = "ssr")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match yueen::cli::run(&args) {
        Some(code) => code,
        None => yueen::startup::run_from_env().await,
    }
}

#[cfg(not(feature = "ssr"))]
pub fn main() {
    // The binary is server-only; the browser side starts from `lib.rs::hydrate`.
}
