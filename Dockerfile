# The `migrate` image: the static binary from `make dist` and nothing else, used as the
# migrate/migrate image is:
#
#   make dist && docker build -t migrate .
#   docker run --rm -v "$PWD/migrations:/migrations" --network host migrate \
#     -path=/migrations -database "postgres://user:pass@localhost:5432/db" up
#
# No shell, no C library, no certificate store: TLS to a server verifies against the public
# roots bundled into the binary unless the URL names a CA file (sslrootcert=, x-tls-ca=),
# which can be mounted like the migrations. tests/empty_root.rs runs the binary in such a root.
FROM scratch
ARG VERSION=0.1.0
COPY dist/migrate-${VERSION}-x86_64-linux/migrate /usr/local/bin/migrate
# WORKDIR creates the directory the migrations are mounted on (an image FROM scratch has
# no shell to run mkdir); the working directory stays /, as in migrate/migrate.
WORKDIR /migrations
WORKDIR /
ENV PATH=/usr/local/bin
ENTRYPOINT ["/usr/local/bin/migrate"]
CMD ["-help"]
