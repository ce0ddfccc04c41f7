"""hashing: the frames of listed videos (vPDQ entries, issue 18) (owned by hostguard.hashing)

Revision ID: 0020_video_hashes
Revises: 0019_integration_tokens
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0020_video_hashes"
down_revision = "0019_integration_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hash_video_frames",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("frame_count", sa.Integer(), nullable=False),
        sa.Column("frames", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("hash_video_frames", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hash_video_frames_entry_id"), ["entry_id"], unique=True
        )
        batch_op.create_index(batch_op.f("ix_hash_video_frames_list_id"), ["list_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hash_video_frames", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hash_video_frames_list_id"))
        batch_op.drop_index(batch_op.f("ix_hash_video_frames_entry_id"))
    op.drop_table("hash_video_frames")
