"""orders per benefit: amount kind, period start, purpose; payee may be missing on a held-back order

Revision ID: payment_queue_0003
Revises: payment_queue_0002
Create Date: 2026-11-26 10:00:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'payment_queue_0003'
down_revision: Union[str, Sequence[str], None] = 'payment_queue_0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('payment_orders', sa.Column('amount_kind', sa.Text(), server_default='one_time', nullable=False), schema='payment_queue')
    op.add_column('payment_orders', sa.Column('period_start', sa.Date(), nullable=True), schema='payment_queue')
    op.add_column('payment_orders', sa.Column('purpose', sa.Text(), nullable=True), schema='payment_queue')
    # Orders queued before: the purpose they were (or will be) sent with, so a retry sends the same order.
    op.execute("UPDATE payment_queue.payment_orders SET purpose = benefit || ' benefit, decision ' || decision_id::text")
    op.alter_column('payment_orders', 'purpose', nullable=False, schema='payment_queue')
    op.alter_column('payment_orders', 'payee_id', existing_type=sa.Text(), nullable=True, schema='payment_queue')


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DELETE FROM payment_queue.payment_orders WHERE payee_id IS NULL")
    op.alter_column('payment_orders', 'payee_id', existing_type=sa.Text(), nullable=False, schema='payment_queue')
    op.drop_column('payment_orders', 'purpose', schema='payment_queue')
    op.drop_column('payment_orders', 'period_start', schema='payment_queue')
    op.drop_column('payment_orders', 'amount_kind', schema='payment_queue')
