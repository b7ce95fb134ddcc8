# One image per service, all from this file:
#   docker build --build-arg SERVICE=api        -t mcic/api .
#   docker build --build-arg SERVICE=watcher    -t mcic/watcher .
#   docker build --build-arg SERVICE=dispatcher -t mcic/dispatcher .
# (`docker compose build` does all three.) The `build` stage holds the whole compiled workspace,
# kube-sim included; docker-compose.yml runs the demo cluster from it (`--target build`).
# Plain Dockerfile syntax (no BuildKit-only features), so the classic builder works too.
# --ignore-scripts: the one dependency with an install script is @scarf/scarf (swagger-ui-dist's
# download analytics); package.json "allowScripts" denies it to npm 11, this to the image's npm 10.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first: the npm ci layer is reused until a package.json or the lock file changes.
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages/core/package.json packages/core/
COPY packages/cli/package.json packages/cli/
COPY packages/receiver/package.json packages/receiver/
COPY services/api/package.json services/api/
COPY services/watcher/package.json services/watcher/
COPY services/dispatcher/package.json services/dispatcher/
COPY test/package.json test/
COPY bench/package.json bench/
COPY examples/ingress-device/package.json examples/ingress-device/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages ./packages
COPY services ./services
COPY test ./test
COPY bench ./bench
COPY examples ./examples
RUN npx tsc -b

FROM ${NODE_IMAGE} AS runtime
# api | watcher | dispatcher
ARG SERVICE=api
ENV NODE_ENV=production \
    MCIC_SERVICE=${SERVICE}
WORKDIR /app
# Production dependencies of @mcic/core and the one service only; other workspaces stay out.
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY services/${SERVICE}/package.json services/${SERVICE}/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund -w @mcic/core -w @mcic/${SERVICE} && npm cache clean --force
COPY --from=build /app/packages/core/dist packages/core/dist
COPY --from=build /app/services/${SERVICE}/dist services/${SERVICE}/dist
# Files stay root-owned and read-only to the process (k8s also mounts the root filesystem read-only).
USER node
WORKDIR /app/services/${SERVICE}
# /healthz of the api (API_PORT, 8000) or of the worker's ops server (METRICS_PORT, 9464 watcher, 9465 dispatcher).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const s=process.env.MCIC_SERVICE,e=process.env,p=s==='api'?(e.API_PORT||8000):(e.METRICS_PORT||(s==='watcher'?9464:9465));fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
