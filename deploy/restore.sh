#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into an EMPTY database and data dir, then check
# the audit trail's hash chain.
#   deploy/restore.sh BACKUP_DIR
# Reads HOSTGUARD_DATABASE_URL (the empty target database, in SQLAlchemy form, for the
# checks), PGURL (the same database as a libpq URL; default: derived from
# HOSTGUARD_DATABASE_URL) and HOSTGUARD_DATA_DIR. The container image has it on PATH as restore.sh.
set -euo pipefail
in=${1:?usage: restore.sh BACKUP_DIR}
PGURL=${PGURL:-$(printf '%s' "${HOSTGUARD_DATABASE_URL:-}" | sed -E 's#^postgresql\+[a-z0-9]+://#postgresql://#')}
: "${PGURL:?set PGURL (or HOSTGUARD_DATABASE_URL) to the empty target database}"
: "${HOSTGUARD_DATA_DIR:?set HOSTGUARD_DATA_DIR}"
(cd "$in" && sha256sum --check --quiet SHA256SUMS)
tables=$(psql "$PGURL" -Atc "select count(*) from information_schema.tables where table_schema = 'public'")
if [ "$tables" != "0" ]; then
  echo "restore.sh: the target database is not empty ($tables tables); restore into a new one" >&2
  exit 2
fi
if [ -e "$HOSTGUARD_DATA_DIR/keys" ]; then
  echo "restore.sh: $HOSTGUARD_DATA_DIR/keys exists; restore into an empty data dir" >&2
  exit 2
fi
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$PGURL" "$in/hostguard.dump"
mkdir -p "$HOSTGUARD_DATA_DIR"
tar -C "$HOSTGUARD_DATA_DIR" -xf "$in/keys.tar"
if [ -f "$in/documents.tar" ]; then
  tar -C "$HOSTGUARD_DATA_DIR" -xf "$in/documents.tar"
fi
hostguard health
hostguard audit verify
echo "restored from $in"
