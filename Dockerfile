# The Node.js image for the API and the worker (the same image; the command chooses).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The TypeScript client is a workspace: the console's wire types are built from it.
COPY clients/typescript/package.json ./clients/typescript/
RUN npm ci --no-audit --no-fund
# Only the product: tsconfig.json builds src/ and workers/ (tests, scripts and benchmarks have
# tsconfig.dev.json and never reach the image); the console is bundled into dist/console.
COPY tsconfig.json ./
COPY clients/typescript/tsconfig.json ./clients/typescript/
COPY clients/typescript/src ./clients/typescript/src
COPY scripts/build-console.mjs ./scripts/
COPY src ./src
COPY workers ./workers
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY clients/typescript/package.json ./clients/typescript/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# API by default; the worker service runs `node dist/workers/node.js`.
CMD ["node", "dist/src/main/api.js"]
