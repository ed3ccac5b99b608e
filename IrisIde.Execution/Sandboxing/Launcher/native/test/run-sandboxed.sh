#!/bin/bash
# Test harness: run-sandboxed.sh WORKDIR COMMAND... runs COMMAND in a bubblewrap sandbox shaped like
# the server's (as root: under uid SANDBOX_UID, default 45977, outside the server's 61000+ range), with
# WORKDIR as /workspace, under the seccomp filter in $FILTER (unset: no filter).
# SBX_ENV may hold extra "--setenv NAME VALUE" arguments.
set -eu
workdir=$1
shift
uid=${SANDBOX_UID:-45977}
etc=$(mktemp -d)
trap 'rm -rf "$etc"' EXIT
printf '127.0.0.1\tlocalhost iris\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$etc/hosts"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\niris:x:%s:%s:iris:/workspace:/bin/sh\n' "$uid" "$uid" > "$etc/passwd"
printf 'root:x:0:\niris:x:%s:\n' "$uid" > "$etc/group"
chmod -R a+rX "$etc"
# shellcheck disable=SC2086
args=(bwrap --unshare-all --unshare-user --disable-userns --uid "$uid" --gid "$uid" --hostname iris
  --die-with-parent --new-session --cap-drop ALL --clearenv
  --setenv PATH /usr/local/bin:/usr/bin:/bin --setenv HOME /workspace --setenv LANG C.UTF-8
  --setenv LC_ALL C.UTF-8 --setenv TMPDIR /tmp ${SBX_ENV:-}
  --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/sbin /sbin --symlink usr/lib /lib --symlink usr/lib64 /lib64
  --ro-bind-try /etc/alternatives /etc/alternatives --ro-bind-try /etc/ld.so.cache /etc/ld.so.cache
  --ro-bind-try /etc/java-17-openjdk /etc/java-17-openjdk --ro-bind-try /etc/ssl/certs /etc/ssl/certs
  --ro-bind-try /etc/localtime /etc/localtime
  --ro-bind "$etc/hosts" /etc/hosts --ro-bind "$etc/passwd" /etc/passwd --ro-bind "$etc/group" /etc/group
  --proc /proc --dev /dev --tmpfs /dev/shm --perms 1777 --tmpfs /tmp
  --bind "$workdir" /workspace --chdir /workspace --remount-ro /)
if [ -n "${FILTER:-}" ]; then
  setpriv --reuid "$uid" --regid "$uid" --clear-groups --no-new-privs -- "${args[@]}" --seccomp 10 -- "$@" 10<"$FILTER"
else
  setpriv --reuid "$uid" --regid "$uid" --clear-groups --no-new-privs -- "${args[@]}" -- "$@"
fi
