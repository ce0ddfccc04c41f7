"""uploads, know-your-uploader, certifications, deliveries (owned by hostguard.uploads and hostguard.integrations)

Revision ID: 0003_uploads
Revises: 0002_hashing
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import hostguard.db.types  # noqa: F401

revision = "0003_uploads"
down_revision = "0002_hashing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
