# syntax=docker/dockerfile:1
#
# news-ingest on the official Apache Airflow image: the Airflow services of docker-compose.yml
# all run this image (`docker compose build`; or `docker build -t news-ingest-airflow .`).
#
# Why "-python3.12": the bare tag apache/airflow:3.3.2 carries the image's default Python, and
# for Airflow 3.3.x that is 3.13 (AIRFLOW_PYTHON_VERSION in Airflow's own Dockerfile; the
# docker-stack docs say "default Python version (3.13 currently)"). news-ingest supports
# Python 3.11-3.13 (requires-python = ">=3.11,<3.14"; the pinned tree installs on 3.13 too),
# so the bare tag would work; the explicit tag keeps a future change of the image's default
# Python from changing ours underneath. 3.12 is the newest interpreter the suite runs on in CI.
FROM apache/airflow:3.3.2-python3.12

# The Airflow docs ("Building the image" -> extending) install extra Python packages as the
# image's `airflow` user (uid 50000, gid 0), never as root, and name
# "apache-airflow==${AIRFLOW_VERSION}" in the same pip call so that pip cannot up- or
# downgrade the Airflow that the image was built with. AIRFLOW_VERSION is set by the base image.
USER airflow

# constraints.txt and README.md are optional: a bracket glob matches nothing when the file is
# absent, and pyproject.toml always matches, so COPY still succeeds.
COPY --chown=airflow:0 pyproject.toml README.m[d] constraints.tx[t] /opt/news-ingest/
COPY --chown=airflow:0 pipeline/ /opt/news-ingest/pipeline/
COPY --chown=airflow:0 sql/ /opt/news-ingest/sql/
COPY --chown=airflow:0 config/ /opt/news-ingest/config/

# A regular (non-editable) install: the code is frozen into site-packages like any other
# dependency, and nothing imports from /opt/news-ingest at run time. The wheel carries the
# migrations (sql/ is package data of pipeline.store.sql, see pyproject.toml), so nothing has
# to point at the copy above: it is only the build's source. The [airflow] extra pins the
# Postgres provider version the project is tested with; it pins apache-airflow==3.3.2 too, so
# a base image of another Airflow version fails here instead of being silently changed.
RUN if [ -f /opt/news-ingest/constraints.txt ]; then \
        pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \
            "/opt/news-ingest[airflow]" --constraint /opt/news-ingest/constraints.txt; \
    else \
        pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \
            "/opt/news-ingest[airflow]"; \
    fi

ENV NEWS_INGEST_CONFIG=/opt/news-ingest/config/feeds.yaml

# Fail the build, not the first deployment, if the installed package lacks the migrations
# (they must come from site-packages, not from the source copy) or the CLI.
RUN python -c "from pipeline.store.migrations import sql_dir; d = sql_dir(); assert 'site-packages' in str(d), d" \
    && news-ingest --help > /dev/null
