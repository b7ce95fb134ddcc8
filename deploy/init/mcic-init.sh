#!/bin/sh
# One-shot `init` service of docker-compose.yml: on first start, writes MCIC_SECRET_KEY (32 random
# bytes, base64) and an API token into the volume mounted at $1 (default /mcic-init), readable only by
# the services' user ($MCIC_UID, default 1000: the image's `node`). Later starts keep both: the key
# decrypts what is stored, and clients hold the token. A value set in .env wins over the file
# (deploy/init/mcic-env.sh), so these are only the defaults of a fresh clone.
set -eu
dir=${1:-/mcic-init}
owner=${MCIC_UID:-1000}
umask 077
mkdir -p "$dir"
# The services run as another user: they must reach the files (each readable by them alone).
chmod 0755 "$dir"

# Written to a temporary name and renamed, so a start interrupted halfway never leaves an empty value.
make() {
  if [ -s "$dir/$1" ]; then
    echo "mcic-init: $dir/$1 exists, kept"
    return
  fi
  eval "$2" >"$dir/$1.tmp"
  if [ "$(id -u)" = 0 ]; then chown "$owner" "$dir/$1.tmp"; fi
  chmod 0400 "$dir/$1.tmp"
  mv "$dir/$1.tmp" "$dir/$1"
  echo "mcic-init: generated $dir/$1"
}

make secret-key "head -c 32 /dev/urandom | base64"
make api-token "head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'"
echo "mcic-init: the API token (unless API_TOKENS is set in .env): docker compose exec api cat $dir/api-token"
