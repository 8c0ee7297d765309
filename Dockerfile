# nodeprof as an image: the CLI (bin/ + the esbuild bundle + production dependencies) on node:20-slim.
# Build: docker build -t nodeprof .   Run (sidecar): nodeprof serve --target auto --listen 0.0.0.0:6060 --token ...
# serve --all on a host needs root in the host's PID namespace (see docs/fleet.md): the DaemonSet
# sets runAsUser: 0; the image itself runs as the unprivileged `node` user by default.
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
# nsenter (util-linux, already in the base image) is what serve --all uses to reach processes in
# other network and UTS namespaces; nothing else is installed.
WORKDIR /opt/nodeprof
COPY --from=build /src/package.json ./
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist/bundle ./dist/bundle
COPY --from=build /src/node_modules ./node_modules
USER node
EXPOSE 6060
ENTRYPOINT ["node", "/opt/nodeprof/bin/nodeprof.js"]
CMD ["--help"]
