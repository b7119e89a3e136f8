# Installs what building and testing Yueen needs, when it is missing. Sourced by run.sh and
# test.sh; every step is skipped when its tool is already there.

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130

log() { printf '\033[1m==> [%dm%02ds] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_apt CMD:PACKAGE ... — installs PACKAGE when CMD is not on PATH.
ensure_apt() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair##*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "安装系统软件包: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}"
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "未找到 Rust 工具链：请先按 https://rustup.rs 安装 rustup，然后重新运行。" >&2
    exit 1
  fi
  ensure_apt cc:build-essential pkg-config:pkg-config
  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    log "添加 wasm32-unknown-unknown 目标"
    rustup target add wasm32-unknown-unknown
  fi
  if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
    log "安装 cargo-leptos $CARGO_LEPTOS_VERSION（首次约 12 分钟）"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
  fi
  # Must equal the wasm-bindgen crate version pinned in Cargo.toml.
  if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
    log "安装 wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
  fi
}

ensure_test_tools() {
  ensure_apt redis-server:redis-server chromium:chromium node:nodejs npm:npm
  # Chinese text in screenshot artifacts renders as boxes without a CJK font.
  if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq fonts-noto-cjk
  fi
  # The browser tests lay the exported Word file out as LibreOffice users see it (PDF, then text).
  if ! command -v soffice >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1; then
    log "安装 LibreOffice Writer（无界面）与 poppler-utils（导出文件的版式测试）"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq libreoffice-writer-nogui poppler-utils
  fi
  # The browser tests open the exported Word file with python-docx (Debian's, not a pyenv one).
  if ! /usr/bin/python3 -c 'import docx' 2>/dev/null; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-docx
  fi
  ensure_nginx
  ensure_postgres
  if [ ! -x end2end/node_modules/.bin/playwright ]; then
    log "安装浏览器测试依赖（end2end/）"
    (cd end2end && npm ci --no-audit --no-fund)
  fi
}

# Installs Debian packages whose services must not start (the tests run their own servers on
# free ports): a policy-rc.d that says no keeps the package from starting them.
apt_without_services() {
  local policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod +x $policy"
  fi
  as_root apt-get update -qq
  local status=0
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" 2>/dev/null || status=$?
  [ -n "$policy" ] && as_root rm -f "$policy"
  return $status
}

# nginx for the balancer test (tests/api/balancer.rs runs deploy/nginx.conf).
ensure_nginx() {
  [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 && return 0
  log "安装 nginx（负载均衡测试用，不启动系统服务）"
  apt_without_services nginx-light || apt_without_services nginx
}

# PostgreSQL's programs for the saved-plan tests (tests/api/postgres.rs runs initdb + pg_ctl).
ensure_postgres() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && return 0
  log "安装 PostgreSQL（预案库测试用，不启动系统服务）"
  apt_without_services postgresql
}
