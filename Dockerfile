# syntax=docker/dockerfile:1
# One image definition for every service. Build from the workspace root, naming the service:
#   docker build --build-arg SERVICE=publisher-api --build-arg PORT=8080 -t eventpipe/publisher-api .
#   (SERVICE: publisher-api, subscriber-worker or query-api; PORT: its listening port)
# Stage 1 installs the workspace and runs scripts/assemble-image.sh, which compiles the service and
# the packages it imports and installs its production dependencies into /app (the same script
# test/repo/image.test.ts runs and starts). Stage 2 only copies /app. Node runs as PID 1 in exec
# form, so SIGTERM reaches it directly (the service drains and exits; see docs/RELIABILITY.md).
# The base is pinned by digest; bump it with its version (docs/DEPLOY.md, "Images").
ARG NODE_IMAGE=node:22.22.2-bookworm-slim@sha256:9f6d5975c7dca860947d3915877f85607946403fc55349f39b4bc3688448bb6e

FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY packages ./packages
COPY services ./services
COPY bench/package.json ./bench/package.json
COPY scripts/assemble-image.sh ./scripts/assemble-image.sh
RUN npm ci --no-audit --no-fund \
 && sh scripts/assemble-image.sh "${SERVICE}" /app
# DuckDB's httpfs extension brings OpenSSL, which DuckDB needs to write an encrypted file
# (DUCKDB_ENCRYPTION_KEY) without its built-in MbedTLS, which it calls unsafe (docs/SECURITY.md).
# Installed here, where the build has network access, into a directory the runtime stage keeps.
# Not fatal: an image for BigQuery needs none of it, and without it a DuckDB key falls back to
# MbedTLS with a warning at start (DUCKDB_ENCRYPTION_CRYPTO=openssl refuses that instead).
RUN mkdir -p /app/duckdb-extensions \
 && (cd /app && node -e "require('@duckdb/node-api').DuckDBInstance.create(':memory:', { extension_directory: '/app/duckdb-extensions' }).then((i) => i.connect()).then((c) => c.run('INSTALL httpfs'))" \
     || echo 'warning: DuckDB httpfs not installed (no network?): encrypted DuckDB files use MbedTLS')

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ARG PORT=8080
# A young generation of 32 MB semi-spaces: request garbage is swept less often (ingest-batch
# 0.57x -> 0.70x of the raw client, docs/PERFORMANCE.md). The bench runs services with the same.
ENV NODE_ENV=production \
    PORT=${PORT} \
    DUCKDB_EXTENSION_DIRECTORY=/app/duckdb-extensions \
    NODE_OPTIONS=--max-semi-space-size=32
# A service runs with node alone: npm, npx and corepack go, and with them the advisories of the
# packages npm bundles (the image scan fails on any fixable HIGH or CRITICAL).
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
WORKDIR /app
COPY --from=build /app ./
# /app is root's and read-only to the service; /app/data is its one writable directory (DuckDB's
# file with the default STORE=duckdb). Mount a volume there to keep the file across containers.
RUN chown node:node /app/data
VOLUME ["/app/data"]
USER node
EXPOSE ${PORT}
# Over HTTPS when TLS_CERT_FILE is set. The probe asks the process itself on loopback, so it does
# not check the certificate, which names the service's public host, not 127.0.0.1.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "require(process.env.TLS_CERT_FILE?'https':'http').get({host:'127.0.0.1',port:process.env.PORT,path:'/healthz',rejectUnauthorized:false},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]
CMD ["node", "main.js"]
