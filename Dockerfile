# syntax=docker/dockerfile:1
# Veil, CPU image:
#   docker build -t veil .
#   docker run --rm -p 127.0.0.1:8787:8787 -e OPENAI_API_KEY -e VEIL_AUDIT_KEY \
#     -v veil-audit:/var/lib/veil/audit veil
# Multi-stage: cargo-chef caches the dependency build; the runtime image is Debian slim and
# holds the binary (with the default NER model built in), its default config
# (deploy/docker/veil.toml: listen on 0.0.0.0:8787, audit log under /var/lib/veil/audit)
# and a probe script. It runs as the non-root user 10001. Not built in CI (only linted).
FROM rust:1-bookworm AS chef
RUN cargo install cargo-chef --locked
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --bin veil

FROM debian:bookworm-slim AS runtime
# ca-certificates: the provider APIs are HTTPS. /var/lib/veil/audit is the only place Veil
# writes (the audit log, and its key file when VEIL_AUDIT_KEY is unset): mount a volume there.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 veil \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/veil --create-home \
      --shell /usr/sbin/nologin veil \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/veil/audit
COPY --from=builder /src/target/release/veil /usr/local/bin/veil
COPY --chmod=0755 deploy/docker/veil-probe /usr/local/bin/veil-probe
COPY deploy/docker/veil.toml /etc/veil/veil.toml
# The default model (models/veil-pii) is inside the binary. Its larger teacher is copied so
# that a config can name it: [detect] model = "/opt/veil/models/veil-pii-large".
COPY models/veil-pii-large/ /opt/veil/models/veil-pii-large/
ENV VEIL_CONFIG=/etc/veil/veil.toml
WORKDIR /var/lib/veil
# Numeric, so that Kubernetes can check runAsNonRoot against the image.
USER 10001:10001
EXPOSE 8787
# Healthy once the model is loaded and requests are served (/readyz answers 200).
HEALTHCHECK --interval=30s --timeout=6s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/veil-probe", "/readyz"]
ENTRYPOINT ["/usr/local/bin/veil"]
CMD ["serve"]
