#!/bin/sh
# Entry point of the mcic services in docker-compose.yml: MCIC_SECRET_KEY and (for the api)
# API_TOKENS come from .env when set there, else from the files the `init` service wrote.
set -eu
dir=${MCIC_INIT_DIR:-/mcic-init}
if [ -z "${MCIC_SECRET_KEY:-}" ]; then
  MCIC_SECRET_KEY=$(cat "$dir/secret-key")
  export MCIC_SECRET_KEY
fi
if [ "${MCIC_SERVICE:-}" = api ] && [ -z "${API_TOKENS:-}" ]; then
  API_TOKENS=$(cat "$dir/api-token")
  export API_TOKENS
fi
exec "$@"
