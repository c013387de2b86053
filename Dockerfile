# One image for every arcfleet service; the command chooses which one runs, e.g.
#   node dist/services/hub/main.js | node dist/services/egress-gateway/main.js | node dist/cli/main.js init ...
# NODE_IMAGE is a parameter so an air-gapped site can build FROM its own Node 20.19+ image
# (deploy/offline/build-images.sh makes one from Debian packages: arcfleet-offline/node:20).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-assets.mjs scripts/
COPY contract contract
COPY platform platform
COPY agent-runtime agent-runtime
COPY services services
COPY fleet fleet
COPY cli cli
COPY bench bench
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund --loglevel=error

FROM ${NODE_IMAGE}
# A fixed uid, so files the services write to shared volumes have one owner whichever image is the base.
RUN groupadd --system --gid 10001 arcfleet \
 && useradd --system --uid 10001 --gid arcfleet --home-dir /app --shell /usr/sbin/nologin arcfleet \
 && mkdir -p /data /clock /broker /broker-hub /trust /hub-trust /broker-tls /fleet-ca \
 && chown arcfleet:arcfleet /data /clock /broker /broker-hub /trust /hub-trust /broker-tls /fleet-ca \
 && chmod 700 /broker-hub /trust /hub-trust /broker-tls
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY bin bin
COPY deploy/compose/entrypoint.sh /usr/local/bin/arcfleet-entrypoint
# compose's hub-front: one published port for every hub replica (docker-compose.yml).
COPY deploy/compose/hub-front.mjs deploy/compose/
ENV NODE_ENV=production \
    ARCFLEET_DATA_DIR=/data \
    PATH=/app/bin:$PATH
USER arcfleet
ENTRYPOINT ["/usr/local/bin/arcfleet-entrypoint"]
CMD ["node", "dist/cli/main.js", "--help"]
