#!/bin/sh
# Entry point of the offline PostgreSQL image (deploy/build-offline-images.sh): Debian's postgresql, initialised
# from the variables the official image reads (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB) on the first start,
# so deploy/docker-compose.yml runs unchanged on either.
set -eu
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
user="${POSTGRES_USER:-postgres}"
database="${POSTGRES_DB:-$user}"
PGDATA="${PGDATA:-/var/lib/postgresql/data}"
bin=/usr/lib/postgresql/server-bin
[ -x "$bin/postgres" ] || { echo "iris-postgres: no PostgreSQL server under /usr/lib/postgresql" >&2; exit 1; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    password_file=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$password_file"
    # Local (socket) connections trust the container's own user; every network connection needs the password.
    "$bin/initdb" -D "$PGDATA" -U "$user" --pwfile="$password_file" -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$password_file"
    printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
    if [ "$database" != postgres ]; then
        # Started on its socket only while the database is made: nothing can connect over the network half-ready.
        "$bin/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
        "$bin/createdb" -U "$user" -- "$database"
        "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    fi
fi
exec "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' "$@"
