# Node base image without a registry: the Debian root file system plus a Node binary and npm copied
# from the build machine (Debian bookworm's nodejs is 18; arcfleet needs >= 20.19), and the extra
# certificate authorities that machine trusts, so `npm ci` works behind the same TLS-inspecting proxy
# or against the same internal mirror. Node reads its own CA list, hence NODE_EXTRA_CA_CERTS.
FROM arcfleet-offline/debian:bookworm
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca/ /usr/local/share/ca-certificates/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && update-ca-certificates >/dev/null \
 && node --version && npm --version
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
