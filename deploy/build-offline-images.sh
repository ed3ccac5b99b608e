#!/usr/bin/env bash
# Builds every image deploy/docker-compose.yml runs without pulling anything, for machines that cannot reach a
# registry (these development and CI machines, air-gapped schools): Debian from the apt mirror the machine already
# uses (debootstrap), the .NET runtime of the local SDK, and fresh publishes of the apps.
#
#   deploy/build-offline-images.sh [--tag TAG] [runner] [web] [worker] [rabbitmq] [postgres]
#
#   --tag TAG   default "offline": iris-runner:TAG, iris-web:TAG, iris-worker:TAG, iris-rabbitmq:TAG, iris-postgres:TAG
#   names       which images (default: all five)
#
# The compose file takes them through IRIS_*_IMAGE (see deploy/README.md, "Offline images"):
#   IRIS_RUNNER_IMAGE=iris-runner:offline IRIS_WEB_IMAGE=iris-web:offline IRIS_WORKER_IMAGE=iris-worker:offline \
#   IRIS_RABBITMQ_IMAGE=iris-rabbitmq:offline IRIS_POSTGRES_IMAGE=iris-postgres:offline docker-compose ... up -d --no-build
#
# runner, web and worker share the toolchain base of runner/build-rootfs.sh (one cached debootstrap); rabbitmq and
# postgres share a second, small one (Debian's rabbitmq-server and postgresql) with entry points that honour the
# official images' variables (RABBITMQ_DEFAULT_USER/PASS; POSTGRES_DB/USER/PASSWORD) and health commands
# (rabbitmq-diagnostics ping, pg_isready), so the compose file runs unchanged on either. The production
# Dockerfiles stay the way to build for machines that can pull: the web image built here carries the toolchains
# it does not need, because it reuses the worker's base rather than a third debootstrap.
#
# Environment: IRIS_DEBIAN_MIRROR, IRIS_ROOTFS_CACHE (default /var/cache/iris/rootfs), DOCKER_HOST. Needs root.
set -euo pipefail

readonly SUITE=bookworm
# Bump when the services rootfs recipe below changes, so its cached tarball is rebuilt.
readonly SERVICES_RECIPE_VERSION=1
readonly SERVICES_PACKAGES=rabbitmq-server,postgresql,ca-certificates

deploy_dir="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
repo_root="$(dirname "$deploy_dir")"
cache_dir="${IRIS_ROOTFS_CACHE:-/var/cache/iris/rootfs}"
tag=offline
wanted=()

log() { printf '==> %s\n' "$*" >&2; }
die() {
    printf 'build-offline-images: error: %s\n' "$*" >&2
    exit 1
}

parse_args() {
    while (($# > 0)); do
        case "$1" in
        --tag)
            [[ $# -ge 2 && $2 =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "--tag needs a valid image tag"
            tag="$2"
            shift
            ;;
        runner | web | worker | rabbitmq | postgres) wanted+=("$1") ;;
        -h | --help)
            sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument: $1 (images: runner web worker rabbitmq postgres)" ;;
        esac
        shift
    done
    ((${#wanted[@]} > 0)) || wanted=(runner web worker rabbitmq postgres)
}

mirror() {
    # runner/build-rootfs.sh already knows how to find it; one place for that logic.
    "$deploy_dir/runner/build-rootfs.sh" --print-mirror
}

# The .NET runtime (not the SDK) and a publish of PROJECT into CONTEXT/dotnet and CONTEXT/app.
stage_app() {
    local project="$1" context="$2" dotnet_root
    command -v dotnet >/dev/null 2>&1 || die "dotnet (the .NET 10 SDK) is needed to publish $project"
    dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
    log "dotnet publish $project"
    dotnet publish "$repo_root/$project/$project.csproj" -c Release -o "$context/app" -p:UseAppHost=false >&2
    mkdir -p "$context/dotnet"
    cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$dotnet_root/shared" "$context/dotnet/"
}

build_from_context() {
    local image="$1" context="$2"
    log "docker build $image"
    docker build --quiet --network none --tag "$image" "$context" >/dev/null
    rm -rf "$context"
    printf '%s\n' "$image"
}

# An app image: the toolchain base, the local .NET runtime and a fresh publish of PROJECT; EXTRA holds the image's own
# ENV lines (continuing the common ENV), then its USER, EXPOSE or CMD lines.
build_app() {
    local base="$1" project="$2" image="$3" extra="$4" context
    context=$(mktemp -d)
    stage_app "$project" "$context"
    cat >"$context/Dockerfile" <<EOF
FROM $base
COPY dotnet /usr/share/dotnet
COPY app /app
WORKDIR /app
ENTRYPOINT ["/usr/share/dotnet/dotnet", "/app/$project.dll"]
ENV PATH=/usr/share/dotnet:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    DOTNET_ROOT=/usr/share/dotnet \\
    DOTNET_EnableDiagnostics=0 \\
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \\
$extra
EOF
    build_from_context "$image" "$context"
}

build_web() {
    # The base's non-root user (10001), as the production image runs as its own non-root user.
    build_app "$1" IrisIde.Web "iris-web:$tag" '    ASPNETCORE_HTTP_PORTS=8080 \
    HOME=/tmp \
    Iris__DataDirectory=/tmp/iris
USER 10001
EXPOSE 8080'
}

build_worker() {
    # Root inside its (Kata) VM, as deploy/worker/Dockerfile: per-run cgroups and uids need it; jobs run unprivileged
    # in bubblewrap.
    build_app "$1" IrisIde.Worker "iris-worker:$tag" '    Iris__Sandbox__Kind=Bubblewrap
CMD ["worker"]'
}

# Debian's rabbitmq-server and postgresql in one small rootfs, cached like the runner's.
services_base() {
    local mirror key tarball base target
    mirror=$(mirror)
    key=$(printf '%s\n%s\n%s\n%s\n' "$SERVICES_RECIPE_VERSION" "$SUITE" "$mirror" "$SERVICES_PACKAGES" | sha256sum | cut -c1-16)
    tarball="$cache_dir/services-base-$key.tar"
    base="iris-services-base:$key"
    if docker image inspect "$base" >/dev/null 2>&1; then
        printf '%s\n' "$base"
        return 0
    fi
    if [[ ! -f $tarball ]]; then
        [[ $(id -u) -eq 0 ]] || die "building the services rootfs needs root (debootstrap, chroot)"
        command -v debootstrap >/dev/null 2>&1 || die "debootstrap is missing (apt-get install debootstrap)"
        mkdir -p "$cache_dir"
        target=$(mktemp -d "$cache_dir/services.XXXXXX")
        chmod 0755 "$target"
        # shellcheck disable=SC2064 # expand now: the path is fixed for this call
        trap "rm -rf '$target' '$tarball.partial'" EXIT
        log "debootstrap $SUITE with $SERVICES_PACKAGES from $mirror (a few minutes, once)"
        debootstrap --variant=minbase --include="$SERVICES_PACKAGES" "$SUITE" "$target" "$mirror" >&2
        # The package made a cluster at install; the image's entry point makes its own in the data volume.
        rm -rf "$target"/var/lib/postgresql/* "$target"/etc/postgresql/*
        chroot "$target" apt-get clean
        rm -rf "$target"/var/lib/apt/lists/* "$target"/var/cache/apt/*.bin "$target"/tmp/*
        : >"$target/etc/resolv.conf"
        tar --numeric-owner --xattrs -C "$target" -cf "$tarball.partial" .
        mv "$tarball.partial" "$tarball"
        find "$cache_dir" -maxdepth 1 -name 'services-base-*.tar' ! -name "${tarball##*/}" -delete
        rm -rf "$target"
        trap - EXIT
    fi
    log "docker import $base"
    docker import --change "ENV LANG=C.UTF-8" "$tarball" "$base" >/dev/null
    printf '%s\n' "$base"
}

build_rabbitmq() {
    local base="$1" context
    context=$(mktemp -d)
    cp "$deploy_dir/offline/rabbitmq-entrypoint.sh" "$context/entrypoint.sh"
    cat >"$context/Dockerfile" <<EOF
FROM $base
COPY entrypoint.sh /usr/local/bin/iris-rabbitmq
RUN chmod 0755 /usr/local/bin/iris-rabbitmq \\
 && install -d -o rabbitmq -g rabbitmq -m 0750 /var/lib/rabbitmq /var/log/rabbitmq
USER rabbitmq
ENV HOME=/var/lib/rabbitmq
VOLUME /var/lib/rabbitmq
EXPOSE 5672
ENTRYPOINT ["/usr/local/bin/iris-rabbitmq"]
EOF
    build_from_context "iris-rabbitmq:$tag" "$context"
}

build_postgres() {
    local base="$1" context
    context=$(mktemp -d)
    cp "$deploy_dir/offline/postgres-entrypoint.sh" "$context/entrypoint.sh"
    cat >"$context/Dockerfile" <<EOF
FROM $base
COPY entrypoint.sh /usr/local/bin/iris-postgres
RUN chmod 0755 /usr/local/bin/iris-postgres \\
 && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \\
 && install -d -o postgres -g postgres -m 2775 /var/run/postgresql \\
 && ln -s "\$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d | sort -V | tail -n 1)" /usr/lib/postgresql/server-bin
USER postgres
# pg_isready and the server's tools first on PATH, as in the official image (Debian's wrappers want a configured cluster).
ENV PGDATA=/var/lib/postgresql/data \\
    PATH=/usr/lib/postgresql/server-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
VOLUME /var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/iris-postgres"]
EOF
    build_from_context "iris-postgres:$tag" "$context"
}

main() {
    parse_args "$@"
    command -v docker >/dev/null 2>&1 || die "the docker CLI is missing (apt-get install docker.io)"
    docker version >/dev/null 2>&1 || die "no Docker engine answers at ${DOCKER_HOST:-unix:///var/run/docker.sock}"
    local name toolchain_base="" services=""
    for name in "${wanted[@]}"; do
        case "$name" in
        runner) "$deploy_dir/runner/build-rootfs.sh" "iris-runner:$tag" | tail -n 1 ;;
        web | worker)
            [[ -n $toolchain_base ]] || toolchain_base=$("$deploy_dir/runner/build-rootfs.sh" --base-only | tail -n 1)
            "build_$name" "$toolchain_base"
            ;;
        rabbitmq | postgres)
            [[ -n $services ]] || services=$(services_base)
            "build_$name" "$services"
            ;;
        esac
    done
}

main "$@"
