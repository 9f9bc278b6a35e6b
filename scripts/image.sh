#!/usr/bin/env bash
# `make image`: Switchyard's container image, built from deploy/Containerfile with podman.
#   1. Stages the build context in .build/image-context: the release binary, linked with
#      --static-swift-stdlib (so the image needs no Swift runtime), llama-server and the llama.cpp
#      libraries it loads, the default model, and deploy/policy.yaml with its calibration file:
#      what `make setup` installed ($SWITCHYARD_HOME/env; the environment wins, as for the gateway).
#   2. The base image debian:bookworm-slim: podman's own if it has one (pulled from a registry, or
#      made here before); else a Debian root filesystem made by mmdebstrap from Debian's mirror,
#      slimmed as Docker's image is, and imported under that name. The Containerfile's FROM is the
#      same either way.
#   3. podman build, then a check that every library the binaries load resolves in the image.
# Prints the image's size and the time taken. SWITCHYARD_IMAGE names the image (default
# localhost/switchyard; tagged with the chart's appVersion and latest); CONTAINERS_CONF defaults
# to scripts/containers.conf (podman settings for these machines, harmless elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/scripts/containers.conf}"
SWITCHYARD_HOME="${SWITCHYARD_HOME:-$HOME/.cache/switchyard}"
IMAGE="${SWITCHYARD_IMAGE:-localhost/switchyard}"
VERSION="$(sed -n 's/^appVersion: *"\(.*\)"$/\1/p' deploy/helm/switchyard/Chart.yaml)"
BASE=debian:bookworm-slim
CONTEXT=.build/image-context
MODEL_NAME=SmolLM2-135M-Instruct.Q4_1.gguf   # the name deploy/Containerfile gives SWITCHYARD_DEFAULT_MODEL

log() { printf 'image: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
started=$SECONDS

# A set-up path: the environment's value, else the one `make setup` recorded.
setting() {
  local value="${!1:-}"
  [ -n "$value" ] || value="$(sed -n "s/^$1=//p" "$SWITCHYARD_HOME/env" 2>/dev/null | head -n 1)"
  printf '%s' "$value"
}

# 1. The build context.
log "release binary: swift build -c release --product switchyard --static-swift-stdlib"
swift build -c release --product switchyard --static-swift-stdlib
binary="$(swift build -c release --show-bin-path)/switchyard"
server="$(setting SWITCHYARD_LLAMA_SERVER)"
model="$(setting SWITCHYARD_DEFAULT_MODEL)"
[ -x "$server" ] || die "llama-server not found ('$server'): run make setup"
[ -f "$model" ] || die "the default model not found ('$model'): run make setup"
[ "$(basename "$model")" = "$MODEL_NAME" ] || die "the default model is $(basename "$model"), not $MODEL_NAME as deploy/Containerfile says"

rm -rf "$CONTEXT"
mkdir -p "$CONTEXT"/llama/bin "$CONTEXT"/llama/lib "$CONTEXT"/model "$CONTEXT"/etc
# Without its debug information (177 MB to 112 MB); the symbol table stays, for crash backtraces.
strip --strip-debug -o "$CONTEXT"/switchyard "$binary"
cp "$server" "$CONTEXT"/llama/bin/llama-server
# llama.cpp's libraries: those ldd resolves outside the system's directories (Debian's packages in
# the image provide the rest), under the names the binary asks for. The image test's inference
# shows that nothing loaded later (a ggml backend built for dlopen, say) is missing.
ldd "$server" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | grep -Ev '^/(usr/)?lib(64)?/' \
  | xargs -r cp -L -t "$CONTEXT"/llama/lib/
cp "$model" "$CONTEXT/model/$MODEL_NAME"
cp deploy/policy.yaml policies/smollm2-135m-calibration.json "$CONTEXT"/etc/
log "context: $(du -sh --apparent-size "$CONTEXT" | cut -f1) in $CONTEXT"

# 2. The base image.
if podman image exists "$BASE"; then
  log "base: $BASE from podman's storage"
else
  log "base: making $BASE with mmdebstrap (2 to 4 minutes)"
  base_started=$SECONDS
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
  # Docker's debian:bookworm-slim is minbase, merged-/usr by symlinks (not the usrmerge package,
  # which brings perl), without documentation, manuals and translations; the dpkg settings stay
  # in the image, so that packages installed later are slim too.
  mmdebstrap --variant=minbase --format=tar --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/groff/*' --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm "$scratch/rootfs.tar" \
    "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main"
  podman import --change 'CMD ["bash"]' "$scratch/rootfs.tar" "$BASE" >/dev/null
  log "base: made in $((SECONDS - base_started)) s"
fi

# 3. The image. `--format docker` keeps the HEALTHCHECK (the OCI format has none); chroot
# isolation and the host's network, since this sandbox has no bridge networking.
log "podman build -t $IMAGE:$VERSION"
podman build --format docker --isolation chroot --network host \
  -f deploy/Containerfile -t "$IMAGE:$VERSION" -t "$IMAGE:latest" "$CONTEXT"

# Every library the gateway, the engine and the engine's own libraries load must be in the image.
unresolved="$(podman run --rm --network host --no-healthcheck "$IMAGE:$VERSION" \
  sh -c 'ldd /usr/local/bin/switchyard /usr/local/bin/llama-server /usr/local/lib/*.so* 2>&1 | grep "not found" || true')"
[ -z "$unresolved" ] || die "libraries missing from the image: $unresolved"

size="$(podman image inspect --format '{{.Size}}' "$IMAGE:$VERSION")"
log "built $IMAGE:$VERSION: $((size / 1000000)) MB, in $((SECONDS - started)) s"
