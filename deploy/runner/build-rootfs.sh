#!/usr/bin/env bash
# Builds the runner image (the same content as deploy/runner/Dockerfile) without pulling any
# image: machines that cannot reach a container registry debootstrap a minimal Debian from the
# apt mirror they already use and `docker import` it.
#
#   deploy/runner/build-rootfs.sh [--base-only | --rootfs-only] [image-tag]
#
#   image-tag      default $IRIS_RUNNER_IMAGE or iris-runner:local
#   --base-only    stop after the toolchain base image (iris-runner-base:<key>); enough for the
#                  Docker sandbox, which only needs the toolchains
#   --rootfs-only  stop after the cached rootfs tarball (no Docker engine needed)
#   --print-mirror print the Debian mirror it would use and stop (deploy/build-offline-images.sh asks)
#
# Environment: IRIS_DEBIAN_MIRROR (default: first Debian URI in this machine's apt sources),
# IRIS_ROOTFS_CACHE (default /var/cache/iris/rootfs), DOCKER_HOST (honoured by the docker CLI,
# e.g. a test daemon on a private socket). Needs root (debootstrap, chroot).
#
# Caching: the expensive part, the debootstrapped rootfs with the toolchains, is stored as
# runner-base-<key>.tar, where <key> hashes the suite, mirror and package list; it is imported
# once as iris-runner-base:<key>. Later calls only publish IrisIde.Worker and add it as one layer.
set -euo pipefail

readonly SUITE=bookworm
# Bump when the rootfs recipe below changes, so cached tarballs are rebuilt.
readonly RECIPE_VERSION=3
readonly RUNNER_UID=10001
# What the .NET runtime itself needs on top of the toolchains (no ICU: the projects set
# InvariantGlobalization).
readonly DOTNET_RUNTIME_PACKAGES=(ca-certificates libssl3 zlib1g tzdata libstdc++6)

repo_root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
cache_dir="${IRIS_ROOTFS_CACHE:-/var/cache/iris/rootfs}"
image="${IRIS_RUNNER_IMAGE:-iris-runner:local}"
mode=full

log() { printf '==> %s\n' "$*"; }
die() {
    printf 'build-rootfs: error: %s\n' "$*" >&2
    exit 1
}

parse_args() {
    while (($# > 0)); do
        case "$1" in
        --base-only) mode=base ;;
        --rootfs-only) mode=rootfs ;;
        --print-mirror) mode=mirror ;;
        -h | --help)
            sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        -*) die "unknown option: $1" ;;
        *) image="$1" ;;
        esac
        shift
    done
}

# The mirror this machine's apt already uses, so no other network access is needed.
default_mirror() {
    local uri
    uri=$(grep -hoE '^URIs:[[:space:]]*[^[:space:]]+' /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '{print $2}' | grep -E '/debian/?$' | head -n 1 || true)
    if [[ -z $uri ]]; then
        uri=$(grep -hoE '^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+/debian/?[[:space:]]' \
            /etc/apt/sources.list 2>/dev/null | awk '{print $NF}' | head -n 1 || true)
    fi
    printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

ensure_debootstrap() {
    command -v debootstrap >/dev/null 2>&1 && return 0
    [[ $(id -u) -eq 0 ]] || die "debootstrap is missing; install it as root: apt-get install -y debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap ||
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap; }
}

# Builds the rootfs tarball unless the cache has it; prints its path.
build_rootfs() {
    local mirror="$1" key="$2"
    local tarball="$cache_dir/runner-base-$key.tar"
    if [[ -f $tarball ]]; then
        log "rootfs cached: $tarball" >&2
        printf '%s\n' "$tarball"
        return 0
    fi
    [[ $(id -u) -eq 0 ]] || die "building the rootfs needs root (debootstrap, chroot)"
    ensure_debootstrap

    local packages target
    packages=$(packages_csv)
    mkdir -p "$cache_dir"
    target=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
    # mktemp makes the folder 0700 and tar records it as the image's "/": non-root users
    # (the runner's uid) could not even reach /bin.
    chmod 0755 "$target"
    # shellcheck disable=SC2064 # expand now: the path is fixed for this call
    trap "rm -rf '$target' '$tarball.partial'" EXIT

    log "debootstrap $SUITE from $mirror (a few minutes, once)" >&2
    debootstrap --variant=minbase --include="$packages" "$SUITE" "$target" "$mirror" >&2
    chroot "$target" groupadd --gid "$RUNNER_UID" iris
    chroot "$target" useradd --no-log-init --uid "$RUNNER_UID" --gid "$RUNNER_UID" \
        --home-dir /home/iris --create-home --shell /usr/sbin/nologin iris
    chroot "$target" apt-get clean
    rm -rf "$target"/var/lib/apt/lists/* "$target"/var/cache/apt/*.bin "$target"/tmp/*
    # An empty resolv.conf: the container runtime provides one (or none: runners have no network).
    : >"$target/etc/resolv.conf"

    tar --numeric-owner --xattrs -C "$target" -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
    # Each tarball is ~2 GB; the ones for older package lists or recipes are dead weight.
    find "$cache_dir" -maxdepth 1 -name 'runner-base-*.tar' ! -name "${tarball##*/}" -delete
    rm -rf "$target"
    trap - EXIT
    printf '%s\n' "$tarball"
}

packages_csv() {
    local packages
    mapfile -t packages < <("$repo_root/iris" packages)
    packages+=("${DOTNET_RUNTIME_PACKAGES[@]}")
    local IFS=,
    printf '%s\n' "${packages[*]}"
}

cache_key() {
    local mirror="$1"
    { printf '%s\n%s\n%s\n%s\n%s\n' "$RECIPE_VERSION" "$SUITE" "$mirror" "$RUNNER_UID" "$(packages_csv)"; } |
        sha256sum | cut -c1-16
}

ensure_base_image() {
    local tarball="$1" base_image="$2"
    if docker image inspect "$base_image" >/dev/null 2>&1; then
        log "base image present: $base_image"
        return 0
    fi
    log "docker import $base_image"
    docker import \
        --change "ENV LANG=C.UTF-8 HOME=/tmp TMPDIR=/tmp" \
        --change "CMD [\"/bin/bash\"]" \
        "$tarball" "$base_image" >/dev/null
}

# Adds the .NET runtime of the local SDK and a fresh publish of IrisIde.Worker as one layer.
build_app_image() {
    local base_image="$1"
    local context dotnet_root
    command -v dotnet >/dev/null 2>&1 || die "dotnet (the .NET 10 SDK) is needed to publish IrisIde.Worker"
    dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
    context=$(mktemp -d)
    # shellcheck disable=SC2064 # expand now: the path is fixed for this call
    trap "rm -rf '$context'" EXIT

    log "dotnet publish IrisIde.Worker"
    dotnet publish "$repo_root/IrisIde.Worker/IrisIde.Worker.csproj" -c Release -o "$context/app" -p:UseAppHost=false
    # Only the runtime: the SDK, packs and templates stay out of the image.
    mkdir -p "$context/dotnet"
    cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$dotnet_root/shared" "$context/dotnet/"

    # The runtime settings are deploy/runner/Dockerfile's (why: there).
    cat >"$context/Dockerfile" <<EOF
FROM $base_image
COPY dotnet /usr/share/dotnet
COPY app /app
ENV PATH=/usr/share/dotnet:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    DOTNET_ROOT=/usr/share/dotnet \\
    DOTNET_EnableDiagnostics=0 \\
    DOTNET_TieredPGO=0 \\
    DOTNET_TC_CallCountingDelayMs=10000 \\
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \\
    ASPNETCORE_URLS=http://+:8080 \\
    HOME=/tmp \\
    TMPDIR=/tmp \\
    GOCACHE=/tmp/.cache/go-build \\
    Iris__Sandbox__Kind=Process
WORKDIR /app
USER $RUNNER_UID
EXPOSE 8080
ENTRYPOINT ["/usr/share/dotnet/dotnet", "/app/IrisIde.Worker.dll"]
CMD ["runner"]
EOF
    log "docker build $image"
    docker build --tag "$image" "$context"
    rm -rf "$context"
    trap - EXIT
}

main() {
    parse_args "$@"
    local mirror key tarball base_image
    mirror="${IRIS_DEBIAN_MIRROR:-$(default_mirror)}"
    if [[ $mode == mirror ]]; then
        printf '%s\n' "$mirror"
        return 0
    fi
    key=$(cache_key "$mirror")
    tarball=$(build_rootfs "$mirror" "$key")
    if [[ $mode == rootfs ]]; then
        printf '%s\n' "$tarball"
        return 0
    fi

    command -v docker >/dev/null 2>&1 || die "the docker CLI is missing (apt-get install docker.io)"
    docker version >/dev/null 2>&1 ||
        die "no Docker engine answers at ${DOCKER_HOST:-unix:///var/run/docker.sock} (--rootfs-only needs none)"
    base_image="iris-runner-base:$key"
    ensure_base_image "$tarball" "$base_image"
    if [[ $mode == base ]]; then
        printf '%s\n' "$base_image"
        return 0
    fi
    build_app_image "$base_image"
    printf '%s\n' "$image"
}

main "$@"
