#!/usr/bin/env bash
# Builds a Node 24 base image without any registry, from the Node binary the project already
# installed (the `node` devDependency), and prints its name:tag on stdout.
#
# Why: machines without a container registry cannot pull node:24-bookworm-slim, yet the mqfed
# image only needs a Node runtime. The base holds the node binary, the shared libraries `ldd`
# lists for it, and the few files Node and glibc look for (/etc/passwd with the unprivileged
# `node` user, uid 1000 as in the official images; /etc/nsswitch.conf; a world-writable /tmp).
# There is no shell and no npm in it: docker/Dockerfile runs only `node` (exec-form RUN), and
# docker/build-image.sh installs the production dependencies with the host's npm, which sees
# the host's npm configuration and cache, so the image build needs no network at all.
#
# Idempotent: an image already built from the same Node version by the same recipe (this
# script's hash, kept in a label) is reused in well under a second. FORCE=1 rebuilds.
#
# Usage: docker/build-local-base.sh            (NODE_BIN=/path/to/node overrides the binary)
set -euo pipefail

docker_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$docker_dir")"
# shellcheck source=.env source-path=SCRIPTDIR
source "$docker_dir/.env"

log() { printf 'build-local-base: %s\n' "$*" >&2; }

node_bin="${NODE_BIN:-$repo/node_modules/.bin/node}"
if [[ ! -x "$node_bin" ]]; then
  log "no Node binary at $node_bin; run npm ci first (or set NODE_BIN)"
  exit 1
fi
# node_modules/.bin/node is a symlink; the image needs the real file.
node_bin="$(readlink -f "$node_bin")"
node_version="$("$node_bin" -p 'process.versions.node')"
if [[ "${node_version%%.*}" != 24 ]]; then
  log "$node_bin is Node $node_version; the image needs Node 24"
  exit 1
fi

image="$MQFED_LOCAL_BASE_REPO:node-$node_version"
recipe="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
if [[ "${FORCE:-0}" != 1 ]] &&
  [[ "$(docker image inspect -f '{{index .Config.Labels "mqfed.base-recipe"}}' "$image" 2>/dev/null || true)" == "$recipe" ]]; then
  log "reusing $image"
  printf '%s\n' "$image"
  exit 0
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

log "assembling Node $node_version from $node_bin"
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp" "$root/root"
# The npm package's binary carries its full symbol table (about 18 MB). Stripping it keeps the
# dynamic symbol table that native addons link against, so only crash symbolization loses.
# Skipped when binutils is not installed: the base is then just bigger.
if command -v strip >/dev/null; then
  strip -o "$root/usr/local/bin/node" "$node_bin"
else
  cp "$node_bin" "$root/usr/local/bin/node"
fi
chmod 0755 "$root/usr/local/bin/node"

# Every library the dynamic loader will open, at the same absolute path, plus the loader itself
# (`ldd` prints it without "=>"). cp -L copies the file a versioned symlink points to under the
# name the binary asks for.
mapfile -t libraries < <(ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
for library in "${libraries[@]}"; do
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
done
# Some systems name the loader under /lib64 through a symlink only; ldd printed the name the
# binary asks for, so it is already in place. Check, to fail here rather than at `docker run`.
interpreter="$(readelf -l "$node_bin" 2>/dev/null | sed -n 's/.*interpreter: \(.*\)]/\1/p' || true)"
if [[ -n "$interpreter" && ! -e "$root$interpreter" ]]; then
  mkdir -p "$root$(dirname "$interpreter")"
  cp -L "$interpreter" "$root$interpreter"
fi

# Users and groups: root for the build steps, `node` (1000) for running, as in node:24 images.
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
node:x:1000:1000:node:/home/node:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
node:x:1000:
nogroup:x:65534:
GROUP
# glibc resolves host names through this file; without it, lookups of compose service names
# still work (glibc's built-in default), but state the intent.
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"

# --owner/--group make every file root's, whoever runs this (no chown needed). The node user's
# home and data folders are made by docker/Dockerfile, which runs as root at build time.
previous="$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)"
log "importing $image"
tar -C "$root" --owner=0 --group=0 --numeric-owner -c . |
  docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change "LABEL mqfed.base-recipe=$recipe mqfed.node-version=$node_version" \
    --change 'CMD ["node"]' \
    - "$image" >/dev/null
# The image this one replaced is now untagged; drop it unless an image still builds on it.
current="$(docker image inspect -f '{{.Id}}' "$image")"
if [[ -n "$previous" && "$previous" != "$current" ]]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
printf '%s\n' "$image"
