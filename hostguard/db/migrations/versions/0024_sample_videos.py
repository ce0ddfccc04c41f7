"""hashing: sample videos' vPDQ frames and flat images' PDQ hashes kept for re-matching (issue 18)
(owned by hostguard.hashing)

`sample_video_frames` keeps the vPDQ frames (hashes only) of each accepted sample video, beside
its `vpdq` row in `sample_image_hashes`, so a video list that gains entries re-matches past
videos; `sample_image_hashes.low_quality_variants` keeps a sample image's PDQ hashes of quality
1-49, re-matched at the policy's stricter threshold (rows kept before it have none: their
primary hash stands in).

Revision ID: 0024_sample_videos
Revises: 0023_case_rollup
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0024_sample_videos"
down_revision = "0023_case_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sample_video_frames",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("frame_count", sa.Integer(), nullable=False),
        sa.Column("frames", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(["sample_id"], ["sample_image_hashes.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sample_video_frames", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sample_video_frames_sample_id"), ["sample_id"], unique=True
        )
    with op.batch_alter_table("sample_image_hashes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("low_quality_variants", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sample_image_hashes", schema=None) as batch_op:
        batch_op.drop_column("low_quality_variants")
    with op.batch_alter_table("sample_video_frames", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sample_video_frames_sample_id"))
    op.drop_table("sample_video_frames")
