"""cases: where a notice item pointed (the URL, file and revision the notifier gave) (owned by hostguard.cases)

Revision ID: 0007_notice_item_location
Revises: 0006_hub_prior_settings
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007_notice_item_location"
down_revision = "0006_hub_prior_settings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notice_items") as batch:
        batch.add_column(
            sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True)
        )
        batch.add_column(
            sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True)
        )
        batch.add_column(
            sa.Column("revision", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("notice_items") as batch:
        batch.drop_column("revision")
        batch.drop_column("path")
        batch.drop_column("url")
