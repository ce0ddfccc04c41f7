"""uploads: integration features (issue 17) (owned by hostguard.uploads)

What a model outputs (model_repos.outputs), so statements are asked only of models they apply to.

Revision ID: 0013_integration
Revises: 0012_moderation
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_integration"
down_revision = "0012_moderation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_repos") as batch:
        batch.add_column(sa.Column("outputs", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_repos") as batch:
        batch.drop_column("outputs")
