# syntax=docker/dockerfile:1
# Multi-stage build: cargo-chef caches dependencies, the runtime image is slim and non-root.
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
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/veil --create-home veil
COPY --from=builder /src/target/release/veil /usr/local/bin/veil
# The default model (models/veil-pii) is built into the binary; the model folders are copied
# as well so a config can name one, e.g. [detect] model = "/opt/veil/models/veil-pii-large".
COPY --chown=veil:veil models/ /opt/veil/models/
WORKDIR /opt/veil
USER veil
EXPOSE 8787
# Audit log and its key go to the working directory unless [audit] path says otherwise;
# mount a volume at /var/lib/veil and point the config there in production.
ENTRYPOINT ["/usr/local/bin/veil"]
CMD ["serve", "--listen", "0.0.0.0:8787"]
