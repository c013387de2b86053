#!/usr/bin/env bash
# Builds the base images docker-compose.yml needs from Debian packages, without any container
# registry: a debootstrap'd bookworm root file system imported with `docker import`, then one small
# image per service on top of it (packages from the Debian mirror, Node from this machine).
#
#   deploy/offline/build-images.sh [--rebuild]
#
# Images (compose takes them as NODE_IMAGE, NATS_IMAGE, PROMETHEUS_IMAGE, all three set by
# `docker compose --env-file deploy/offline/offline.env up -d`):
#   arcfleet-offline/debian:bookworm    debootstrap --variant=minbase + ca-certificates, wget
#   arcfleet-offline/node:20            + this machine's node (>= 20.19; Debian's nodejs is 18), npm
#                                       and the extra CAs it trusts (/usr/local/share/ca-certificates)
#   arcfleet-offline/nats:2.9           + Debian nats-server
#   arcfleet-offline/prometheus:2.42    + Debian prometheus
# Grafana and the trace viewer have no Debian package: their compose profiles are left out offline.
#
# An image that already exists is kept (second run: seconds); --rebuild builds every one again (the
# debootstrap root file system is cached in $ARCFLEET_OFFLINE_CACHE, --rebuild redoes it too).
# Needs a running Docker engine, and root and debootstrap for the Debian image. Environment:
#   DEBIAN_MIRROR           default http://deb.debian.org/debian
#   ARCFLEET_OFFLINE_CACHE  default /var/cache/arcfleet-offline (not root: ~/.cache/arcfleet-offline)
#   ARCFLEET_NODE_BIN       default: `command -v node`
set -euo pipefail

REBUILD=0
for arg in "$@"; do
  case "$arg" in
    --rebuild) REBUILD=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "build-images: unknown argument $arg (usage: $0 [--rebuild])" >&2
      exit 2
      ;;
  esac
done

MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
if [ "$(id -u)" = 0 ]; then CACHE="${ARCFLEET_OFFLINE_CACHE:-/var/cache/arcfleet-offline}"; else CACHE="${ARCFLEET_OFFLINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/arcfleet-offline}"; fi
PREFIX=arcfleet-offline
here="$(cd "$(dirname "$0")" && pwd)"

say() { printf 'build-images: %s\n' "$*"; }
die() {
  printf 'build-images: %s\n' "$*" >&2
  exit 1
}
elapsed() { printf '%d.%d s' $((($(date +%s%N) - $1) / 1000000000)) $(((($(date +%s%N) - $1) / 100000000) % 10)); }

export PATH="$PATH:/usr/sbin:/sbin"
docker info >/dev/null 2>&1 || die 'no Docker engine answers `docker info`: start dockerd (Debian package docker.io)'

# docker 23+ CLIs send `docker build` to buildx; without the plugin, the classic builder still works.
if ! docker buildx version >/dev/null 2>&1; then export DOCKER_BUILDKIT=0; fi

mkdir -p "$CACHE"
have() { [ "$REBUILD" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }

# 1. Debian root file system, imported as an image.
base="$PREFIX/debian:$SUITE"
if have "$base"; then
  say "$base exists (--rebuild to build it again)"
else
  [ "$(id -u)" = 0 ] || die "$base is missing and debootstrap needs root: run $0 as root once"
  command -v debootstrap >/dev/null || die 'debootstrap is missing: apt-get install -y debootstrap'
  t0=$(date +%s%N)
  rootfs="$CACHE/rootfs-$SUITE"
  if [ "$REBUILD" = 1 ] || [ ! -f "$rootfs/.arcfleet-complete" ]; then
    rm -rf "$rootfs"
    mkdir -p "$CACHE"
    say "debootstrap $SUITE from $MIRROR into $rootfs"
    debootstrap --variant=minbase --include=ca-certificates,wget "$SUITE" "$rootfs" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
      die "debootstrap failed; see $CACHE/debootstrap.log"
    # Smaller image: no package lists or caches (the service images run apt-get update themselves).
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    touch "$rootfs/.arcfleet-complete"
  fi
  tar --exclude=./.arcfleet-complete -C "$rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' - "$base" >/dev/null
  say "$base imported ($(elapsed "$t0"))"
fi

# 2. One image per service, built from a tiny context (no registry: FROM the image above).
build() { # name context-dir
  local t0
  t0=$(date +%s%N)
  # Host network: the Debian mirror as this machine reaches it (proxy, DNS), whatever the bridge allows.
  docker build --network host -t "$1" "$2" >"$CACHE/build-${1//[\/:]/_}.log" 2>&1 ||
    die "docker build of $1 failed; see $CACHE/build-${1//[\/:]/_}.log"
  say "$1 built ($(elapsed "$t0"))"
}

node_image="$PREFIX/node:20"
if have "$node_image"; then
  say "$node_image exists"
else
  node_bin="${ARCFLEET_NODE_BIN:-$(command -v node || true)}"
  [ -x "$node_bin" ] || die 'node is not on PATH (set ARCFLEET_NODE_BIN to a Node >= 20.19 binary)'
  version="$("$node_bin" -p 'process.versions.node')"
  "$node_bin" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
    die "$node_bin is Node $version; the image needs >= 20.19"
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [ -f "$npm_dir/package.json" ] || die "npm not found next to $node_bin"
  ctx="$(mktemp -d)"
  trap 'rm -rf "$ctx"' EXIT
  cp "$node_bin" "$ctx/node"
  cp -a "$npm_dir" "$ctx/npm"
  cp "$here/node.Dockerfile" "$ctx/Dockerfile"
  # The site's own certificate authorities (a TLS-inspecting proxy, an internal npm mirror): the
  # build stage's `npm ci` must trust what this machine trusts.
  mkdir -p "$ctx/ca"
  find /usr/local/share/ca-certificates -name '*.crt' -exec cp {} "$ctx/ca/" \; 2>/dev/null || true
  say "node $version and npm $(cat "$npm_dir/package.json" | "$node_bin" -p 'JSON.parse(require("fs").readFileSync(0)).version') from this machine"
  build "$node_image" "$ctx"
  rm -rf "$ctx"
  trap - EXIT
fi

for pkg in nats-server:nats:2.9 prometheus:prometheus:2.42; do
  IFS=: read -r debian_pkg name tag <<<"$pkg"
  image="$PREFIX/$name:$tag"
  if have "$image"; then
    say "$image exists"
    continue
  fi
  ctx="$(mktemp -d)"
  sed "s/@PACKAGE@/$debian_pkg/" "$here/package.Dockerfile" >"$ctx/Dockerfile"
  build "$image" "$ctx"
  rm -rf "$ctx"
done

say "done: NODE_IMAGE=$node_image NATS_IMAGE=$PREFIX/nats:2.9 PROMETHEUS_IMAGE=$PREFIX/prometheus:2.42"
