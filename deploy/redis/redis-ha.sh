#!/bin/sh
# One node of the Redis Sentinel group behind REDIS_URL=redis+sentinel://… in docker-compose.yml
# (profile "ha") and k8s/overlays/ha:
#   sh redis-ha.sh redis [redis-server options]       a Redis server: master or replica
#   sh redis-ha.sh sentinel [redis-sentinel options]  a Sentinel
# Runs in its data directory (the working directory). Environment:
#   MASTER_NAME     Sentinel's name of the group: the path of the redis+sentinel:// URL
#   INITIAL_MASTER  host:port of the node that is master on the very first start
#   SENTINELS       host:port,… of every sentinel
#   ANNOUNCE_HOST   this node's name as the other nodes and the clients reach it
#   REDIS_PORT      a Redis node's port (6379)
#   SENTINEL_PORT   a sentinel's port (26379)
#   QUORUM          sentinels that must agree the master is down before a failover (2 of 3)
#   DOWN_AFTER_MS   how long the master must not answer to be down (5000)
# A failover whose vote the sentinels split is tried again after twice the failover timeout: 10 s
# keeps that retry at 20 s without a master, not the minutes of Sentinel's defaults.
#
# Sentinel, not the command line, knows who the master is: after a failover the first master is a
# replica. So a node asks the sentinels first, and only when none answers (the very first start,
# or every sentinel gone) takes INITIAL_MASTER. A restarted old master thus comes back as a replica
# instead of as a second master with stale data.
set -eu

mode="${1:?usage: redis-ha.sh redis|sentinel [options]}"
shift
: "${MASTER_NAME:?}" "${INITIAL_MASTER:?}" "${SENTINELS:?}" "${ANNOUNCE_HOST:?}"

# Prints "host port" of the master as the first sentinel that answers knows it.
current_master() {
  for sentinel in $(echo "$SENTINELS" | tr ',' ' '); do
    reply=$(timeout 3 redis-cli -h "${sentinel%:*}" -p "${sentinel##*:}" --raw \
      sentinel get-master-addr-by-name "$MASTER_NAME" 2>/dev/null) || continue
    host=$(echo "$reply" | sed -n 1p)
    port=$(echo "$reply" | sed -n 2p)
    case "$port" in '' | *[!0-9]*) continue ;; esac
    echo "$host $port"
    return
  done
  echo "${INITIAL_MASTER%:*} ${INITIAL_MASTER##*:}"
}

case "$mode" in
redis)
  port="${REDIS_PORT:-6379}"
  set -- --port "$port" --appendonly yes \
    --replica-announce-ip "$ANNOUNCE_HOST" --replica-announce-port "$port" "$@"
  master=$(current_master)
  if [ "$master" = "$ANNOUNCE_HOST $port" ]; then
    echo "redis-ha: starting as the master"
    exec redis-server "$@"
  fi
  echo "redis-ha: starting as a replica of ${master% *}:${master#* }"
  # shellcheck disable=SC2086 # "host port": two arguments
  exec redis-server "$@" --replicaof $master
  ;;
sentinel)
  # Sentinel rewrites its configuration file (current master, replicas, other sentinels, epoch):
  # it gets a writable one of its own here, written once and kept across restarts.
  conf="$PWD/sentinel.conf"
  if [ ! -f "$conf" ]; then
    master=$(current_master)
    # Sentinel refuses to start on a master host it cannot resolve: wait for the master to answer.
    until timeout 3 redis-cli -h "${master% *}" -p "${master#* }" ping >/dev/null 2>&1; do
      echo "redis-ha: waiting for the master ${master% *}:${master#* }"
      sleep 2
      master=$(current_master)
    done
    printf '%s\n' \
      "port ${SENTINEL_PORT:-26379}" \
      "sentinel resolve-hostnames yes" \
      "sentinel announce-hostnames yes" \
      "sentinel announce-ip $ANNOUNCE_HOST" \
      "sentinel announce-port ${SENTINEL_PORT:-26379}" \
      "sentinel monitor $MASTER_NAME $master ${QUORUM:-2}" \
      "sentinel down-after-milliseconds $MASTER_NAME ${DOWN_AFTER_MS:-5000}" \
      "sentinel failover-timeout $MASTER_NAME 10000" \
      "sentinel parallel-syncs $MASTER_NAME 1" >"$conf.new"
    mv "$conf.new" "$conf"
  fi
  exec redis-sentinel "$conf" "$@"
  ;;
*)
  echo "redis-ha: unknown mode \"$mode\" (redis or sentinel)" >&2
  exit 2
  ;;
esac
