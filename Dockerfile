# The main job in a container: Debian 12 with Node.js 20 (node:20-bookworm; Debian 12's own nodejs
# is 18, older than the adapters' engines), this repository, its packages and the ci build; the
# default command is the main job (README.md, "The two commands"). Reports stay in the container's
# /lifecheck/reports unless a volume is mounted there:
#   docker build -t lifecheck . && docker run --rm -v "$PWD/reports:/lifecheck/reports" lifecheck
# scripts/docker-steps.sh runs these steps without Docker (on the machine's own Debian).
FROM node:20-bookworm
COPY . /lifecheck
WORKDIR /lifecheck
RUN ./scripts/build.sh
CMD ["./scripts/run-corpus.sh"]
