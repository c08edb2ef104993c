#!/bin/sh
# Runs once, when the postgres image initialises an empty data volume (docker-entrypoint-initdb.d).
# One login role per service, owning only its own schema (docs/design.md: one schema per service).
# CREATE on the database is granted too: migrations run `CREATE SCHEMA IF NOT EXISTS <own schema>`, and
# PostgreSQL checks that privilege before it sees that the schema exists. A role still cannot touch
# another service's schema: it owns only its own, and nothing else is granted.
set -eu

for service in intake eligibility decision payment_queue notifier; do
  var="$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
  password="$(printenv "$var" || true)"
  if [ -z "$password" ]; then
    echo "init-roles: $var is not set" >&2
    exit 1
  fi
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
       -v role="$service" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE SCHEMA :"role" AUTHORIZATION :"role";
GRANT CONNECT, CREATE ON DATABASE :"DBNAME" TO :"role";
SQL
done
