# syntax=docker/dockerfile:1
# PodMeter's image: `docker build -t podmeter:0.1.0 .`
#
# Three stages: `deps` installs the production dependencies only, `build`
# compiles the TypeScript with the dev dependencies, and the runtime stage
# takes node_modules from the first and dist/src from the second, nothing else.
# The base image is pinned by tag (bump it on purpose; pin a digest with
# --build-arg NODE_IMAGE=node:24.x.y-alpine3.zz@sha256:… for a build that never
# changes under you). Alpine, not distroless: the client Job runs a small
# POSIX sh script around podmeter (deploy/overlays/client/run-client.sh).
#
# OCI labels: VERSION is package.json's version (the tests hold the two
# equal; --build-arg VERSION=… for a build of another); SOURCE is where the
# sources are, for a registry to link to: pass it, as
#   docker build --build-arg SOURCE="$(git remote get-url origin)" -t podmeter:0.1.0 .
ARG NODE_IMAGE=node:24.21.0-alpine
ARG VERSION=0.1.0
ARG SOURCE=

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.dashboard.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE}
ARG VERSION
ARG SOURCE
LABEL org.opencontainers.image.title="PodMeter" \
      org.opencontainers.image.description="Measures what a service mesh costs: microsecond latency, throughput and mesh detection for Istio sidecar and ambient" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="${SOURCE}"
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the app's user: the app writes nothing but
# /tmp (an emptyDir under Kubernetes' readOnlyRootFilesystem).
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
# Numeric, so Kubernetes' runAsNonRoot can check it (the image's `node` user is uid 1000).
USER 1000:1000
# PORT, BASELINE_PORT and TCP_ECHO_PORT as the manifests set them (the last two are off by default).
EXPOSE 8080 8081 8082
# node is PID 1, started directly (not through npm or a shell, which would not
# pass SIGTERM on). PID 1 gets no default signal handlers from the kernel, but
# PodMeter installs its own for SIGTERM and SIGINT and exits 0 when drained;
# it starts no child processes (its worker is a thread), so there are no
# zombies to reap either: no tini needed.
CMD ["node", "dist/src/cli/main.js", "serve"]
# For docker and compose (Kubernetes ignores it and uses the manifests'
# probes): GET /livez, which is never measured. node itself asks (the image
# has no curl, and busybox's wget would tie the check to the Alpine base),
# with node:http (lighter to start than fetch), on PORT and HOST as the
# server reads them; its own 2 s timeout ends
# a stalled answer before docker's 3 s one would kill it. Exit 0 on a 200,
# 1 otherwise, as HEALTHCHECK wants.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const h = process.env.HOST; const r = require('node:http').get({ host: !h || h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h, port: Number(process.env.PORT || 8080), path: '/livez', timeout: 2000 }, (res) => process.exit(res.statusCode === 200 ? 0 : 1)); r.on('timeout', () => r.destroy(new Error('timeout'))); r.on('error', () => process.exit(1))"]
