#!/usr/bin/env bash
# Runs the Dockerfile's steps without Docker, on this machine's Debian: COPY . (as .dockerignore
# says: no .git, build/, reports output or node_modules) into DIR, each RUN from DIR, then the CMD.
# Meant for a clean Debian 12 (a fresh VM, or a debootstrap chroot); setup.sh installs what is
# missing, so on a developer machine it only re-checks.
#
# usage: scripts/docker-steps.sh [--no-cmd] DIR     (DIR must not exist)
set -euo pipefail
run_cmd=1
[[ ${1:-} == --no-cmd ]] && { run_cmd=""; shift; }
if [[ $# -ne 1 || $1 == -* ]]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
[[ -e $dir ]] && { echo "docker-steps: $dir exists; give a new folder" >&2; exit 2; }
step() { echo "docker-steps: $*"; }

dest="" workdir=""
while read -r instruction args; do
    case $instruction in
    ""|\#*) ;;
    FROM)
        step "FROM $args (here: $(sed -n "s/^PRETTY_NAME=//p" /etc/os-release))" ;;
    COPY)
        [[ $args =~ ^\.[[:space:]]+(/[^[:space:]]+)$ ]] || { echo "docker-steps: cannot run COPY $args" >&2; exit 2; }
        dest=${BASH_REMATCH[1]}
        step "COPY . $dest -> $dir"
        mkdir -p "$dir"
        tar -C "$root" --exclude=./.git --exclude=./build --exclude='./reports/*' \
            --exclude=node_modules -cf - . | tar -C "$dir" -xf -
        cp -a "$root/reports/README.md" "$root/reports/schema" "$dir/reports/" 2>/dev/null || true ;;
    WORKDIR)
        [[ $args == "$dest" ]] || { echo "docker-steps: WORKDIR $args is not the COPY destination $dest" >&2; exit 2; }
        workdir=$dir
        step "WORKDIR $args -> $dir" ;;
    RUN)
        step "RUN $args"
        started=$SECONDS
        (cd "${workdir:?WORKDIR before RUN}" && bash -c "$args")
        step "RUN took $((SECONDS - started)) s" ;;
    CMD)
        # Exec form only: CMD ["a", "b"].
        cmd=$(sed -E 's/^\[ *"//; s/" *\]$//; s/" *, *"/ /g' <<<"$args")
        if [[ -n $run_cmd ]]; then
            step "CMD $cmd"
            started=$SECONDS
            (cd "${workdir:?WORKDIR before CMD}" && bash -c "$cmd")
            step "CMD took $((SECONDS - started)) s"
        else
            step "CMD $cmd (not run: --no-cmd)"
        fi ;;
    *)
        echo "docker-steps: unknown instruction $instruction" >&2
        exit 2 ;;
    esac
done <"$root/Dockerfile"
