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
ARG NODE_IMAGE=node:24.21.0-alpine

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
