#!/usr/bin/env bash
# The CLI frame: --version, help, unknown commands, exit codes, every command has --help.
source "$(dirname "$0")/lib.sh"

expect_exit 0 "$CGPC" --version
expect_contains "$T/out" "^cgpc [0-9]"

expect_exit 0 "$CGPC" help
expect_contains "$T/out" "usage: cgpc <command>"

expect_exit 2 "$CGPC"
expect_exit 2 "$CGPC" no-such-command
expect_contains "$T/err" "not a cgpc command"
expect_exit 2 "$CGPC" help no-such-command

# Every listed command answers --help on stdout with exit 0, and `help CMD` says the same.
for cmd in $("$CGPC" help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1}'); do
    expect_exit 0 "$CGPC" "$cmd" --help
    [ -s "$T/out" ] || fail "$cmd --help printed nothing"
    cp "$T/out" "$T/help1"
    expect_exit 0 "$CGPC" help "$cmd"
    cmp -s "$T/out" "$T/help1" || fail "'help $cmd' differs from '$cmd --help'"
done
echo ok
