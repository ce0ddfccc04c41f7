"""hash lists, hash entries and kept sample-image hashes (owned by hostguard.hashing)

Revision ID: 0002_hashing
Revises: 0001_core
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import hostguard.db.types  # noqa: F401

revision = "0002_hashing"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
