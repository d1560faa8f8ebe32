# mailbox-radar: the pipeline image for docker compose (the `pipeline` service).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY avro ./avro
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY avro ./avro
COPY web ./web
COPY package.json ./
USER node
EXPOSE 9464
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["run"]
