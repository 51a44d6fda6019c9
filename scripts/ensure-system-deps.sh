#!/usr/bin/env bash
# Install the Debian packages the test suite needs, only if they are missing:
#   postgresql (server binaries in /usr/lib/postgresql/15/bin) and chromium (/usr/bin/chromium).
set -euo pipefail

need=()
[ -x /usr/lib/postgresql/15/bin/pg_ctl ] || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "ensure-system-deps: need root to install: ${need[*]}" >&2
        exit 1
    fi
fi

echo "ensure-system-deps: installing ${need[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 "${need[@]}" >/dev/null
echo "ensure-system-deps: installed ${need[*]}"
