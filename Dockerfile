# syntax=docker/dockerfile:1
# One image definition for every service. Build from the workspace root, naming the service:
#   docker build --build-arg SERVICE=publisher-api -t eventpipe/publisher-api .
#   (SERVICE: publisher-api, subscriber-worker or query-api; PORT: its listening port)
# Stage 1 compiles the service and the packages it imports; stage 2 holds only that service's
# production dependencies and the compiled code. Node runs as PID 1 in exec form, so SIGTERM
# reaches it directly (the service drains and exits; see docs/RELIABILITY.md).
ARG NODE_IMAGE=node:22.12.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG SERVICE
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json tsconfig.json ./
COPY packages ./packages
COPY services ./services
COPY bench/package.json ./bench/package.json
RUN test -f "services/${SERVICE}/src/main.ts" || { echo "SERVICE must name a service, got '${SERVICE}'" >&2; exit 1; } \
 && npm ci --no-audit --no-fund \
 && npx tsc -b "services/${SERVICE}" \
 && mkdir -p /out /manifests \
 && for d in packages/*/dist "services/${SERVICE}/dist"; do cp -r --parents "$d" /out; done \
 && find packages services bench -maxdepth 2 -name package.json -exec cp --parents {} /manifests \; \
 && echo "require('./services/${SERVICE}/dist/main.js');" > /out/main.js

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
ARG PORT=8080
ENV NODE_ENV=production \
    PORT=${PORT}
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /manifests ./
RUN npm ci --omit=dev --no-audit --no-fund --workspace="@eventpipe/${SERVICE}" \
 && npm cache clean --force
COPY --from=build /out ./
USER node
EXPOSE ${PORT}
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "main.js"]
