#!/usr/bin/env bash
# Your own images through the local twin of the stack, as S3 and Lambda would handle them:
#
#   scripts/invoke_local.sh PATH... [--out DIR] [--workers N] [--ingest-mode queue] [--renditions]
#
# PATHs are image files or folders (searched recursively: files that are images by their name
# or their bytes; the others are listed as skipped). Each image is uploaded under
# uploads/ to a local S3 (moto over HTTP), whose own ObjectCreated notifications drive the real
# handler; the thumbnails land in DIR (default: ./out) next to summary.txt, the table printed at
# the end, and index.html, the gallery. --renditions turns on AVIF, crops and manifests
# (or one at a time: --output-formats, --avif-quality, --crop-sizes, --write-manifest).
# Exits 1 if any image failed, 130 on Ctrl-C (which shuts everything down).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -eq 0 || "$1" == "-h" || "$1" == "--help" ]]; then
    sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
    [[ $# -eq 0 ]] && exit 2 || exit 0
fi

# The same bootstrap as every README command: .venv is created on first use.
make --no-print-directory -s -C "$repo" venv >&2

# Paths stay relative to where you are; Python finds the repo's modules through PYTHONPATH.
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
exec "$repo/.venv/bin/python" -m scripts.local.demo "$@"
