"""uploads: integration features (issue 17) (owned by hostguard.uploads)

What a model outputs (model_repos.outputs), so statements are asked only of models they apply
to; decision events: the checks' announced decisions (upload_checks.decision_seq) and ordered
webhook deliveries (webhook_deliveries.ordering_key); sandbox API keys (api_keys.sandbox).

Revision ID: 0013_integration
Revises: 0012_moderation
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013_integration"
down_revision = "0012_moderation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_repos") as batch:
        batch.add_column(sa.Column("outputs", sa.JSON(), nullable=True))
    with op.batch_alter_table("upload_checks") as batch:
        batch.add_column(
            sa.Column("decision_seq", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.add_column(
            sa.Column("ordering_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
        )
        batch.create_index("ix_webhook_deliveries_ordering_key", ["ordering_key"], unique=False)
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("sandbox", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("sandbox")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_index("ix_webhook_deliveries_ordering_key")
        batch.drop_column("ordering_key")
    with op.batch_alter_table("upload_checks") as batch:
        batch.drop_column("decision_seq")
    with op.batch_alter_table("model_repos") as batch:
        batch.drop_column("outputs")
