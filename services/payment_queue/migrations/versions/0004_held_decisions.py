"""held decisions: decision.signed events not paid because their signature or fields do not verify

Revision ID: payment_queue_0004
Revises: payment_queue_0003
Create Date: 2026-11-25 12:00:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = 'payment_queue_0004'
down_revision: Union[str, Sequence[str], None] = 'payment_queue_0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SCHEMA = 'payment_queue'


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'held_decisions',
        sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column('event_id', sa.Uuid(), nullable=False),
        sa.Column('decision_id', sa.Uuid(), nullable=False),
        sa.Column('application_id', sa.Uuid(), nullable=False),
        sa.Column('kid', sa.Text(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('status', sa.Text(), server_default='held', nullable=False),
        sa.Column('envelope', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('held_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id'),
        schema=SCHEMA,
    )
    op.create_index('ix_payment_queue_held_decisions_decision_id', 'held_decisions', ['decision_id'], schema=SCHEMA)
    op.create_index('ix_payment_queue_held_decisions_status', 'held_decisions', ['status'], schema=SCHEMA)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_payment_queue_held_decisions_status', table_name='held_decisions', schema=SCHEMA)
    op.drop_index('ix_payment_queue_held_decisions_decision_id', table_name='held_decisions', schema=SCHEMA)
    op.drop_table('held_decisions', schema=SCHEMA)
