"""uploads: integration features (issue 17) (owned by hostguard.uploads)

Revision ID: 0013_integration
Revises: 0012_moderation
"""

revision = "0013_integration"
down_revision = "0012_moderation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
