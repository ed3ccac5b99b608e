#!/bin/sh
# Entry point of the offline RabbitMQ image (deploy/build-offline-images.sh): Debian's rabbitmq-server, configured
# from the variables the official image reads, so deploy/docker-compose.yml runs unchanged on either.
set -eu
: "${RABBITMQ_DEFAULT_USER:?set RABBITMQ_DEFAULT_USER}"
: "${RABBITMQ_DEFAULT_PASS:?set RABBITMQ_DEFAULT_PASS}"
case "$RABBITMQ_DEFAULT_USER$RABBITMQ_DEFAULT_PASS" in
*"
"*) echo "iris-rabbitmq: RABBITMQ_DEFAULT_USER and RABBITMQ_DEFAULT_PASS must be one line each" >&2; exit 1 ;;
esac
config=/var/lib/rabbitmq/iris.conf
umask 077
# The default user is created on the first start only (an empty database); later starts keep the stored one.
cat >"$config" <<CONF
listeners.tcp.default = 5672
loopback_users = none
default_user = $RABBITMQ_DEFAULT_USER
default_pass = $RABBITMQ_DEFAULT_PASS
log.console = true
log.file = false
CONF
export RABBITMQ_CONFIG_FILE="$config"
exec rabbitmq-server "$@"
