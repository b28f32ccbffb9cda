#!/usr/bin/env bash
# Runs the given cmocka suites, then (unless E2E=0) every tests/e2e/*.sh against $CGPC, and
# prints one closing line "tests: N passed, N failed". Exit status 1 if anything failed,
# including files the tests left in the working tree (counted as one more test).
# Slow tests run only with SLOW=1.
set -uo pipefail
: "${CGPC:=bin/cgpc}"
export CGPC
export CGPC_ROOT="$PWD"
passed=0
failed=0
failed_names=()

# A test must not leave files in the working tree: compare `git status` before and after.
tree_state() {
    git status --porcelain --untracked-files=all 2>/dev/null | LC_ALL=C sort
}
in_git=0
git rev-parse --is-inside-work-tree >/dev/null 2>&1 && in_git=1
[ "$in_git" = 1 ] && tree_before=$(tree_state)

for suite in "$@"; do
    name=$(basename "$suite")
    out=$("$suite" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' | tail -n 1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' | tail -n 1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1 # crashed or aborted before cmocka could count
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    [ "$f" -ne 0 ] && failed_names+=("$name")
done

if [ "${E2E:-1}" != 0 ]; then
    for t in tests/e2e/*.sh; do
        [ "$(basename "$t")" = lib.sh ] && continue
        [ -e "$t" ] || continue
        name=$(basename "$t" .sh)
        log=$(mktemp)
        if bash "$t" >"$log" 2>&1; then
            echo "[e2e PASSED] $name"
            passed=$((passed + 1))
        else
            rc=$?
            if [ "$rc" -eq 77 ]; then
                echo "[e2e SKIPPED] $name: $(tail -n 1 "$log")"
            else
                echo "[e2e FAILED] $name (exit $rc); last lines:"
                tail -n 30 "$log" | sed 's/^/    /'
                failed=$((failed + 1))
                failed_names+=("$name")
            fi
        fi
        rm -f "$log"
    done
fi

if [ "$in_git" = 1 ]; then
    left=$(LC_ALL=C comm -13 <(printf '%s\n' "$tree_before") <(tree_state))
    if [ -n "$left" ]; then
        echo "[tree FAILED] the tests left files in the working tree (git status):"
        printf '%s\n' "$left" | sed 's/^/    /'
        failed=$((failed + 1))
        failed_names+=("working-tree")
    else
        passed=$((passed + 1))
    fi
fi

[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
