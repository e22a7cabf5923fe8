#!/bin/sh
# Install the Debian packages given as arguments that are not installed yet.
# Idempotent and silent when nothing is missing; as non-root, print the command instead.
missing=""
for p in "$@"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
  case "$st" in *"ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" != 0 ]; then
  echo "enkash needs these Debian packages. Run as root:" >&2
  echo "  apt-get update && $cmd" >&2
  exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null || exit 1
fi
