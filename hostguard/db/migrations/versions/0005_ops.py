"""operations: index versions and anything the worker needs (owned by hostguard.ops)

Revision ID: 0005_ops
Revises: 0004_cases
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import hostguard.db.types  # noqa: F401

revision = "0005_ops"
down_revision = "0004_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
