#!/usr/bin/env bash
# A full disk is reported as such: `quantize` (and every atomic writer) says "No space left on
# device", exits 1 and leaves no temp file. The disk is a 16 KiB tmpfs in a private mount
# namespace (unshare -m: root, or an unprivileged user namespace with -r).
source "$(dirname "$0")/lib.sh"
cd "$CGPC_ROOT"
mkdir -p "$T/full"
ns=(unshare -m)
[ "$(id -u)" -eq 0 ] || ns=(unshare -rm)
"${ns[@]}" true 2>/dev/null || skip "no mount namespace here (unshare -m) for a small tmpfs"
rc=0
OMP_WAIT_POLICY=passive "${ns[@]}" bash -c 'mount -t tmpfs -o size=16k tmpfs "$1" &&
    "$2" quantize --model models/lenet5-mnist.safetensors --out "$1/q.safetensors" \
        --calib-limit 10 --threads 1 >/dev/null 2>"$3"; rc=$?; ls -A "$1" >"$3.ls"; exit $rc' \
    _ "$T/full" "$CGPC" "$T/err" || rc=$?
[ "$rc" -eq 1 ] || { cat "$T/err" >&2; fail "quantize on a full disk: exit $rc, expected 1"; }
expect_contains "$T/err" "q.safetensors: write failed: No space left on device"
[ ! -s "$T/err.ls" ] || fail "files left on the full disk: $(cat "$T/err.ls")"
echo ok
