#!/usr/bin/env bash
# Runs one shell command as root in a VM started by debug-vm.sh and prints
# its output; exits with the command's exit code.
# usage: vm-exec.sh SHARE_DIR 'command' [timeout seconds, default 3600]
set -euo pipefail
share=${1:?usage: vm-exec.sh SHARE_DIR COMMAND [TIMEOUT]}
cmd=${2:?usage: vm-exec.sh SHARE_DIR COMMAND [TIMEOUT]}
limit=${3:-3600}
id="c$(date +%s%N)"
printf '%s\n' "$cmd" >"$share/$id.tmp"
mv "$share/$id.tmp" "$share/$id.cmd"
start=$SECONDS
until [ -e "$share/$id.rc" ]; do
	if ((SECONDS - start > limit)); then
		echo "vm-exec: no answer within ${limit}s (output so far:)" >&2
		cat "$share/$id.out" 2>/dev/null >&2 || true
		exit 124
	fi
	sleep 1
done
cat "$share/$id.out"
exit "$(cat "$share/$id.rc")"
