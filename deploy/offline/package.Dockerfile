# A service image from its Debian package (nats-server, prometheus): no registry, only the Debian mirror.
FROM arcfleet-offline/debian:bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends @PACKAGE@ \
 && rm -rf /var/lib/apt/lists/*
