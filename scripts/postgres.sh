# Start a throwaway PostgreSQL on loopback for the tests (root on Debian); source it.
# Installs Debian's postgresql when missing. Sets DATABASE_URL_POSTGRES and PG_TEST_ROOT;
# `pg_stop` stops and removes it.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PGBIN" ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "posology set-up: installing postgresql from Debian (apt-get), for the server tests" >&2
  apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
PG_TEST_ROOT=$(mktemp -d)
PG_PORT=${PGPORT:-55432}
chown postgres:postgres "$PG_TEST_ROOT"
runuser -u postgres -- "$PGBIN/initdb" -D "$PG_TEST_ROOT/data" -U postgres --auth=trust -E UTF8 \
  --locale=C.UTF-8 >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_TEST_ROOT/data" -l "$PG_TEST_ROOT/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_TEST_ROOT -c fsync=on -c max_connections=200" \
  start >/dev/null
"$PGBIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -t 10 >/dev/null
"$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE posology_test" >/dev/null
export DATABASE_URL_POSTGRES="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/posology_test"
pg_stop() {
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG_TEST_ROOT/data" -m fast -w stop >/dev/null || true
  rm -rf "$PG_TEST_ROOT"
}
