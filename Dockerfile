# The revenue warehouse's one image, for every service of deploy/compose.yaml: the Dagster
# code server (where runs execute), the webserver and the daemon; `revwh` is on its PATH too.
# The dependencies are exactly uv.lock's (`--frozen`: nothing is resolved at build time), so
# two builds of one commit install the same versions.
#
#   docker build -t revenue-warehouse .
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# the uv that `make install` uses (Makefile UV_VERSION; a test keeps the two equal)
ARG UV_VERSION=0.13.9
RUN python3 -m venv /opt/uv \
    && /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1
WORKDIR /app
ENV PATH=/app/.venv/bin:${PATH}
# the locked dependencies first, in a layer of their own: changing the code reuses it
COPY pyproject.toml uv.lock ./
RUN /opt/uv/bin/uv sync --frozen --no-dev --all-extras --no-install-project
COPY . .
RUN /opt/uv/bin/uv sync --frozen --no-dev --all-extras
# Dagster reads dbt's manifest when it loads the definitions: parse the project once, here,
# so containers start without running dbt
RUN dagster-dbt project prepare-and-package \
    --file orchestration/defs/dbt/project.py

FROM ${PYTHON_IMAGE}
# the runs' data, on volumes (compose.yaml): the DuckDB warehouse with dbt's target and dlt's
# pipeline state beside it, the published copy for BI tools, Dagster's step logs. A named
# volume takes the owner of its folder here when it is first created.
RUN useradd --create-home --uid 10001 revwh \
    && mkdir -p /data/warehouse /data/published /data/dagster /opt/dagster/home \
    && chown -R revwh:revwh /data
COPY --from=build /app /app
# what the code writes under the repository's warehouse/ folder (dbt's artifacts and dlt's
# state of a PostgreSQL warehouse) lands on the warehouse volume
RUN ln -s /data/warehouse /app/warehouse
COPY deploy/dagster.yaml deploy/workspace.yaml /opt/dagster/home/
ENV PATH=/app/.venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/home \
    DAGSTER_STORAGE_DIR=/data/dagster/storage \
    DAGSTER_COMPUTE_LOGS_DIR=/data/dagster/compute_logs \
    DAGSTER_CODE_HOST=code \
    DAGSTER_CODE_PORT=4000 \
    REVWH_WAREHOUSE=/data/warehouse/revenue.duckdb \
    REVWH_PUBLISHED_WAREHOUSE=/data/published/revenue.duckdb
WORKDIR /app
USER revwh
EXPOSE 3000 4000
# the code server; compose.yaml runs the webserver and the daemon from the same image
CMD ["dagster", "code-server", "start", "--host", "0.0.0.0", "--port", "4000", \
     "--module-name", "orchestration.definitions", "--location-name", "revenue_warehouse"]
