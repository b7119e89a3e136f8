# Sourced. `with_leptos_env debug|release COMMAND...` runs COMMAND (a cargo build of the server
# side) in the environment cargo-leptos 0.3.10 gives cargo for the server, as Cargo.toml's
# [package.metadata.leptos] makes it: used where we call cargo ourselves for that same build (the
# server's tests, the benchmark's baseline binary), so nothing is compiled twice. Should the two
# differ, the price is a rebuild, not a wrong result.
with_leptos_env() {
  local minify=false
  [ "$1" = release ] && minify=true
  env LEPTOS_OUTPUT_NAME=yueen LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg \
    LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=. LEPTOS_BIN_DIR=. \
    LEPTOS_JS_MINIFY=$minify LEPTOS_HASH_FILES=true LEPTOS_HASH_FILE_NAME=hash.txt \
    RUSTFLAGS="--cfg erase_components" "${@:2}"
}
