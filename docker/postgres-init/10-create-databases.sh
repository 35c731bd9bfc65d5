#!/usr/bin/env bash
# Creates the two databases of the compose stack, each owned by its own login role:
#   airflow  Airflow's metadata database   (role $AIRFLOW_DB_USER / $AIRFLOW_DB_PASSWORD)
#   news     news-ingest's data, schema news (role $NEWS_DB_USER / $NEWS_DB_PASSWORD)
#
# The postgres image runs the files in /docker-entrypoint-initdb.d only when it initialises an
# EMPTY data volume. Changing a user or password in .env later does not change the roles:
# run ALTER ROLE ... PASSWORD by hand (docker compose exec postgres psql -U "$POSTGRES_USER").
set -euo pipefail

: "${AIRFLOW_DB_USER:?}" "${AIRFLOW_DB_PASSWORD:?}" "${NEWS_DB_USER:?}" "${NEWS_DB_PASSWORD:?}"
if [[ "$AIRFLOW_DB_USER" == "$NEWS_DB_USER" ]]; then
    echo "AIRFLOW_DB_USER and NEWS_DB_USER must differ (one role per database)" >&2
    exit 1
fi

# Names and passwords reach SQL as psql variables (:"identifier", :'literal'), which psql
# quotes, so no value from .env is ever pasted into the SQL text.
psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    --set=airflow_user="$AIRFLOW_DB_USER" --set=airflow_password="$AIRFLOW_DB_PASSWORD" \
    --set=news_user="$NEWS_DB_USER" --set=news_password="$NEWS_DB_PASSWORD" <<'SQL'
CREATE ROLE :"airflow_user" LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER :"airflow_user";
REVOKE ALL ON DATABASE airflow FROM PUBLIC;

CREATE ROLE :"news_user" LOGIN PASSWORD :'news_password';
CREATE DATABASE news OWNER :"news_user";
REVOKE ALL ON DATABASE news FROM PUBLIC;
SQL
