#!/usr/bin/env bash
# Builds the mqfed image (name and tag in docker/.env) from docker/Dockerfile.
#
# The base image:
#   BASE_IMAGE=<image>   use that image (pulled if missing), e.g. node:24-bookworm-slim
#   BASE_IMAGE=local     always use the base docker/build-local-base.sh makes from the project's
#                        own Node 24 (no registry needed)
#   (unset)              the official base if it is present or can be pulled, else the local one
#
# [design] The build context is staged rather than the repository root, for two reasons:
# - without BuildKit (Debian's docker.io with a newer CLI and no buildx plugin, as on the
#   project's CI machines), `docker build` ignores docker/Dockerfile.dockerignore and would send
#   node_modules and .git to the daemon; a staged folder with the ignore file at its root as
#   `.dockerignore` works with both builders.
# - the production dependencies are installed here with the host's npm (`npm ci --omit=dev`),
#   which has the host's registry settings, certificates and cache; a build step could not reach
#   the registry on machines that only reach it through the host's configuration, and the local
#   base has no npm. They are cached under .scratch/docker/, one set per package-lock.json.
#
# Idempotent and quick when nothing changed: the dependencies are reused, and Docker's layer
# cache turns every step into "Using cache"; the image keeps its id.
set -euo pipefail

docker_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$docker_dir")"
# shellcheck source=.env source-path=SCRIPTDIR
source "$docker_dir/.env"

log() { printf 'build-image: %s\n' "$*" >&2; }

# --- base image -------------------------------------------------------------------------------
base="${BASE_IMAGE:-}"
if [[ "$base" == local ]]; then
  base="$("$docker_dir/build-local-base.sh")"
elif [[ -n "$base" ]]; then
  docker image inspect "$base" >/dev/null 2>&1 || docker pull "$base"
elif docker image inspect "$MQFED_OFFICIAL_BASE" >/dev/null 2>&1 ||
  timeout 60 docker pull --quiet "$MQFED_OFFICIAL_BASE" >/dev/null 2>&1; then
  base="$MQFED_OFFICIAL_BASE"
else
  log "cannot pull $MQFED_OFFICIAL_BASE: using a base built from the project's Node instead"
  base="$("$docker_dir/build-local-base.sh")"
fi
log "base $base"

# --- production dependencies --------------------------------------------------------------------
scratch="$repo/.scratch/docker"
mkdir -p "$scratch"
# Keyed by the lock file alone: it records package.json's dependency lists too, and other
# edits to package.json (scripts) need no reinstall.
deps_key="$(sha256sum <"$repo/package-lock.json" | cut -c1-16)"
deps="$scratch/prod-deps-$deps_key"
if [[ ! -d "$deps/node_modules" ]]; then
  log "installing production dependencies (npm ci --omit=dev)"
  fresh="$(mktemp -d "$scratch/prod-deps.XXXXXX")"
  cp "$repo/package.json" "$repo/package-lock.json" "$fresh/"
  # --ignore-scripts: see docker/install-prod-deps.js; the image never compiles anything.
  (cd "$fresh" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error)
  rm -f "$fresh/package.json" "$fresh/package-lock.json"
  # Older dependency sets are of no further use; the rename makes the new one appear whole.
  find "$scratch" -maxdepth 1 -name 'prod-deps-*' -exec rm -rf {} +
  mv "$fresh" "$deps"
fi

# --- build context ------------------------------------------------------------------------------
context="$(mktemp -d "$scratch/context.XXXXXX")"
trap 'rm -rf "$context"' EXIT
# The repository without its heavy local folders (the ignore file would drop them anyway; not
# copying them keeps this step fast), then the dependencies as hard links: no copying either.
tar -C "$repo" \
  --exclude=./node_modules --exclude=./.git --exclude=./.scratch --exclude=./out \
  --exclude=./coverage --exclude=.data \
  -cf - . | tar -C "$context" -xf -
cp -al "$deps" "$context/prod-deps"
cp "$docker_dir/Dockerfile.dockerignore" "$context/.dockerignore"

previous="$(docker image inspect -f '{{.Id}}' "$MQFED_IMAGE" 2>/dev/null || true)"
log "building $MQFED_IMAGE"
docker build \
  --file "$context/docker/Dockerfile" \
  --build-arg "BASE_IMAGE=$base" \
  --tag "$MQFED_IMAGE" \
  "$context"

# A rebuild after a change leaves the previous image untagged; drop it (not the build cache,
# and not when a container still uses it).
current="$(docker image inspect -f '{{.Id}}' "$MQFED_IMAGE")"
if [[ -n "$previous" && "$previous" != "$current" ]]; then
  docker image rm "$previous" >/dev/null 2>&1 || true
fi
docker image ls "$MQFED_IMAGE" >&2
