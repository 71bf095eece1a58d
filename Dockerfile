# Multi-stage build of the Controller bundle onto a slim Node base.
#   docker build -t controller .
#   docker run -p 51121:51121 -v controller-data:/app/data \
#     -e OIDC_BOOTSTRAP_ADMIN_USERNAME=admin@example.com -e OIDC_BOOTSTRAP_ADMIN_PASSWORD=... controller

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    API_PORT=51121 \
    DB_URL=file:/app/data/controller.db \
    ENCRYPTION_KEY_FILE=/app/data/encryption.key
WORKDIR /app
# Only the bundle and the runtime dependencies it leaves external (the libSQL native binding).
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
RUN mkdir -p /app/data && chown -R node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 51121
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.API_PORT||51121)+'/api/v3/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "dist/controller.mjs"]
