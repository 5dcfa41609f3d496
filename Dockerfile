# syntax=docker/dockerfile:1
# One image for every app; the container's command picks the app.
# (BuildKit reads the syntax line only when it is the file's first line.)

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps apps
COPY libs libs
COPY tools tools
COPY bench bench
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
# pdf-workflow decrypts and flattens forms with qpdf (Debian's package).
RUN apt-get update \
  && apt-get install -y --no-install-recommends qpdf \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules node_modules
COPY --from=build --chown=root:root /app/dist dist
# Runs as the unprivileged "node" user; code and dependencies stay root-owned and read-only.
USER node
EXPOSE 3000 9000
CMD ["node", "--enable-source-maps", "dist/apps/gateway/src/main.js"]
