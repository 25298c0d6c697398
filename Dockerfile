# The `shoal` command in an image: `docker run IMAGE node` runs a cluster node (the default),
# `docker run IMAGE send|status|watch ...` the client commands. See docker-compose.yml.

# Build: exactly the README's install step, `npm ci`. Its `prepare` script compiles the
# TypeScript (tsc), so the whole context (.dockerignore keeps node_modules, dist and caches
# out) is copied before it runs.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
COPY . .
# The cache mount keeps npm's download cache across builds: a source edit re-runs `npm ci`
# without fetching the packages again.
RUN --mount=type=cache,target=/root/.npm npm ci
# Drops the dev dependencies, among them the self-link "shoal": "file:." (node_modules/shoal -> ..);
# the build fails here rather than ship it.
RUN npm prune --omit=dev && test ! -e node_modules/shoal

FROM node:20.20.2-bookworm-slim
# HTTP on every interface of the container, so a published port reaches it; POST /admin/drain
# then needs SHOAL_ADMIN_TOKEN (or _FILE) and is refused without one (docs/SECURITY.md).
ENV NODE_ENV=production \
    SHOAL_HTTP_HOST=0.0.0.0 \
    SHOAL_HTTP_PORT=8080
WORKDIR /app
# Owned by root, read-only to the `node` user the process runs as.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin/shoal.js ./bin/shoal.js
USER node
EXPOSE 8080
# No curl in slim images: node's own fetch. Ready = the node holds a shard map (GET /healthz 200).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.SHOAL_HTTP_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/shoal.js"]
CMD ["node"]
