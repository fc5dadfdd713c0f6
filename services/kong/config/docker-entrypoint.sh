#!/bin/sh
# Kong entrypoint: wait for the database, bootstrap or upgrade Kong's
# schema, import the declarative base configuration rendered from the
# environment, then start Kong (the image's CMD).
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
lua="${RENDER_LUA:-resty}"
config="${KONG_BASE_CONFIG:-/tmp/kong-base.json}"
attempts="${DB_WAIT_ATTEMPTS:-60}"
delay="${DB_WAIT_SECONDS:-2}"

log() { printf '{"level":"%s","msg":"%s"}\n' "$1" "$2" >&2; }

# kong migrations list: 0 up to date, 3 not bootstrapped, 4 pending,
# 5 new migrations to run; anything else means the database is not there yet.
n=0
while :; do
	status=0
	kong migrations list >/tmp/kong-migrations.log 2>&1 || status=$?
	case "$status" in
	0)
		log info "database schema is up to date"
		break
		;;
	3)
		log info "bootstrapping a fresh database"
		kong migrations bootstrap
		break
		;;
	4 | 5)
		log info "running pending migrations"
		kong migrations up
		kong migrations finish
		break
		;;
	*)
		n=$((n + 1))
		if [ "$n" -ge "$attempts" ]; then
			log error "database unreachable after $attempts attempts"
			cat /tmp/kong-migrations.log >&2
			exit 1
		fi
		log info "waiting for the database ($n/$attempts)"
		sleep "$delay"
		;;
	esac
done

"$lua" "$here/render.lua" >"$config"
kong config db_import "$config"
log info "base configuration imported"

# nginx's request body settings (render.lua has checked the variables).
# client_max_body_size in step with the plugin's max_body_bytes: larger
# bodies are refused by nginx with 413. client_body_buffer_size stays small:
# nginx allocates it as soon as a body read starts (the declared length up
# to the buffer size, the whole buffer for a chunked body) and holds it for
# as long as the client takes, so a buffer as large as the limit let a few
# hundred slow uploads with a public anon key exhaust the task's memory.
# Larger bodies go to nginx's temporary file, which the plugin reads.
# client_body_timeout bounds the wait between two reads of the body
# (nginx's default is 60 s), so a stalled upload frees its connection soon.
export KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE="${MAX_BODY_BYTES:-1048576}"
export KONG_NGINX_HTTP_CLIENT_BODY_BUFFER_SIZE="${CLIENT_BODY_BUFFER_BYTES:-65536}"
export KONG_NGINX_PROXY_CLIENT_BODY_TIMEOUT="${CLIENT_BODY_TIMEOUT_SECONDS:-10}s"

exec "$@"
