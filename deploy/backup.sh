#!/usr/bin/env bash
# Back up hostguard: the PostgreSQL database (pg_dump custom format) and the key files.
# Both are needed: personal data in the database is encrypted with the keys.
#   deploy/backup.sh OUT_DIR
# Reads PGURL (libpq URL, e.g. postgresql://hostguard:pw@db:5432/hostguard; default: derived
# from HOSTGUARD_DATABASE_URL) and HOSTGUARD_DATA_DIR. Store OUT_DIR/keys.tar apart from
# OUT_DIR/hostguard.dump, encrypted. The container image has it on PATH as backup.sh.
set -euo pipefail
out=${1:?usage: backup.sh OUT_DIR}
# postgresql+psycopg://... (SQLAlchemy) -> postgresql://... (libpq)
PGURL=${PGURL:-$(printf '%s' "${HOSTGUARD_DATABASE_URL:-}" | sed -E 's#^postgresql\+[a-z0-9]+://#postgresql://#')}
: "${PGURL:?set PGURL (or HOSTGUARD_DATABASE_URL) to the database URL (postgresql://user:pw@host:5432/db)}"
: "${HOSTGUARD_DATA_DIR:?set HOSTGUARD_DATA_DIR}"
mkdir -p "$out"
umask 077
pg_dump --format=custom --no-owner --no-privileges --file="$out/hostguard.dump" "$PGURL"
tar -C "$HOSTGUARD_DATA_DIR" -cf "$out/keys.tar" keys
if [ -d "$HOSTGUARD_DATA_DIR/documents" ]; then
  tar -C "$HOSTGUARD_DATA_DIR" -cf "$out/documents.tar" documents
fi
sha256sum "$out"/*.dump "$out"/*.tar > "$out/SHA256SUMS"
echo "backup written to $out"
