#!/usr/bin/env bash
# Makes the Docker secrets docker/stack.yaml needs, for one stack name, on a Swarm manager:
#
#   bash docker/stack-secrets.sh create NAME [--out DIR] [--host NAME,ADDR,...]
#   bash docker/stack-secrets.sh rm NAME          (after `docker stack rm NAME`)
#
# create makes, and `docker secret create`s (labelled mqfed.stack=NAME):
#   NAME-admin-credential            random; the operator's credential for the admin API
#   NAME-b1-secret .. NAME-b3-secret random; each broker's secret, provisioned into auth
#   NAME-demo-secret                 random; the secret of the MQTT client `demo`
#   NAME-ca-pem                      the CA certificate every service trusts
#   NAME-<svc>-pem, NAME-<svc>-key-pem   certificate and key of auth, discovery, b1, b2, b3
# and keeps in DIR (default ./mqfed-stack-NAME, mode 0700), for the operator only:
#   ca/            the CA (ca.pem, ca-key.pem) and the certificates and keys it issued: the CA
#                  key never becomes a secret any service sees. Keep the folder private (or
#                  offline); create with the same DIR reuses the CA, so clients keep trusting it
#   ca.pem         the CA certificate, for MQTT clients and `mqfed auth ... --tls-ca`
#   admin-credential, demo.secret   (0600)
# The broker secrets exist only as Docker secrets (auth and each broker see them).
#
# --host: names or addresses clients use to reach the nodes (added to every certificate, beside
# the service's own name and loopback); needed once clients connect from other machines.
#
# [design] Secrets are `external` in stack.yaml and made here, not `file:` secrets made by
# `docker stack deploy`: they outlive `docker stack rm` (auth's volume keeps the registrations
# they match), they can be rotated with `docker service update --secret-rm/--secret-add`, and
# nothing secret has to sit in a folder on the manager at deploy time.
# Not idempotent: an existing set is refused, never overwritten (a running stack uses it).
#
# Needs the mqfed image on this engine (MQFED_IMAGE, default from docker/.env) to issue the
# certificates with `mqfed tls issue`, run with this user's uid so the files in DIR are yours.
# Run it where the Docker CLI talks to a manager of the swarm on this machine (the CA folder
# is bind-mounted into that container).
set -euo pipefail

docker_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
image="${MQFED_IMAGE:-$(sed -n 's/^MQFED_IMAGE=//p' "$docker_dir/.env")}"
services=(auth discovery b1 b2 b3)
brokers=(b1 b2 b3)

usage() {
  echo "usage: $0 create NAME [--out DIR] [--host NAME,ADDR,...] | $0 rm NAME" >&2
  exit 2
}
fail() {
  echo "stack-secrets: $*" >&2
  exit 1
}

[[ $# -ge 2 ]] || usage
action="$1" name="$2"
shift 2
[[ "$name" =~ ^[a-z0-9][a-z0-9_-]{0,40}$ ]] || fail "stack name '$name': lower-case letters, digits, _ or -"
existing() { docker secret ls --quiet --filter "label=mqfed.stack=$name"; }

if [[ "$action" == rm ]]; then
  [[ $# -eq 0 ]] || usage
  ids="$(existing)"
  [[ -n "$ids" ]] || { echo "stack-secrets: no secrets for $name"; exit 0; }
  # Refused by Docker while a service still uses one: `docker stack rm NAME` first.
  # shellcheck disable=SC2086
  docker secret rm $ids >/dev/null
  echo "stack-secrets: removed the secrets of $name"
  exit 0
fi
[[ "$action" == create ]] || usage

out="./mqfed-stack-$name" hosts=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --host) hosts="${2:?--host needs names}"; shift 2 ;;
    *) usage ;;
  esac
done

if [[ -n "$(existing)" ]]; then
  fail "secrets for $name exist already (docker secret ls --filter label=mqfed.stack=$name);" \
    "a deployed stack may use them. To start afresh: docker stack rm $name; $0 rm $name"
fi

umask 077
mkdir -p "$out/ca"
out="$(cd "$out" && pwd)"
chmod 700 "$out"
issued="$(mktemp -d "$out/issued.XXXXXX")"
made=()
# The issued keys are removed in any case; a half-made set too, so that create can run again.
cleanup() {
  local status=$?
  rm -rf "$issued"
  if [[ $status -ne 0 && ${#made[@]} -gt 0 ]]; then
    docker secret rm "${made[@]}" >/dev/null 2>&1 || true
    echo "stack-secrets: failed; removed the ${#made[@]} secrets made so far" >&2
  fi
}
trap cleanup EXIT

# 32 random bytes, base64url without padding: 43 characters, as auth's own secrets.
random_secret() { head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'; }
# The value comes on stdin: never on a command line, where `ps` would show it.
make_secret() {
  docker secret create --label "mqfed.stack=$name" "$name-$1" - >/dev/null
  made+=("$name-$1")
  echo "stack-secrets: made $name-$1"
}

tls_args=(tls issue --dir /data/ca --out /data/issued)
[[ -z "$hosts" ]] || tls_args+=(--host "$hosts")
docker run --rm --user "$(id -u):$(id -g)" --network none \
  -v "$out/ca:/data/ca" -v "$issued:/data/issued" "$image" "${tls_args[@]}" "${services[@]}" >/dev/null
cp "$issued/ca.pem" "$out/ca.pem"
chmod 644 "$out/ca.pem"

make_secret ca-pem <"$issued/ca.pem"
for service in "${services[@]}"; do
  make_secret "$service-pem" <"$issued/$service.pem"
  make_secret "$service-key-pem" <"$issued/$service-key.pem"
done
for broker in "${brokers[@]}"; do make_secret "$broker-secret" < <(random_secret); done
random_secret >"$out/admin-credential"
make_secret admin-credential <"$out/admin-credential"
random_secret >"$out/demo.secret"
make_secret demo-secret <"$out/demo.secret"
echo "stack-secrets: done; the CA, ca.pem, admin-credential and demo.secret are in $out"
