# Finds processes a test run left behind. Sourced by test.sh: `mark_run` tags this shell's
# environment, which every process the run starts inherits (cargo, test binaries, redis-server,
# the app, Playwright's servers); `leftovers` lists the tagged processes still alive.

mark_run() {
  YUEEN_TEST_RUN="run-$$-$(date +%s%N)"
  export YUEEN_TEST_RUN
}

# Prints "pid command" for every tagged process but this shell. Reads /proc with shell builtins
# only, so the scan itself starts no tagged process.
leftovers() {
  local dir pid vars
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$pid" = "$$" ] && continue
    mapfile -d '' vars 2>/dev/null <"$dir/environ" || continue
    case " ${vars[*]} " in
      *" YUEEN_TEST_RUN=$YUEEN_TEST_RUN "*)
        mapfile -d '' vars 2>/dev/null <"$dir/cmdline" || true
        echo "$pid ${vars[*]}"
        ;;
    esac
  done
}

# Fails when the run left processes behind, after giving exiting ones a moment; ends them so
# they do not outlive the run either way.
check_leftovers() {
  local left
  for _ in $(seq 20); do
    left=$(leftovers)
    [ -z "$left" ] && return 0
    sleep 0.25
  done
  printf '测试结束后仍有进程未退出：\n%s\n' "$left" >&2
  while read -r pid _; do kill "$pid" 2>/dev/null || true; done <<<"$left"
  return 1
}
