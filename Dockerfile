# A small image of srs-owt-proxy: a static binary, CA certificates, no shell,
# run as the non-root user 65532. It starts FROM scratch, so it builds
# without pulling anything; `make image` prepares its context (bin/image/:
# the static binary and the build host's CA bundle) and builds it with
# buildah (or podman/docker: see README.md, "Container image").
FROM scratch
COPY srs-owt-proxy /usr/local/bin/srs-owt-proxy
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
USER 65532:65532
EXPOSE 8085 9108
ENTRYPOINT ["/usr/local/bin/srs-owt-proxy"]
CMD ["run", "--config", "/etc/srs-owt-proxy/agent.yaml"]
