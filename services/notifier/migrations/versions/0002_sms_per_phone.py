"""SMS per phone per hour: an index for the limit's count (issue 6 point 10).

Revision ID: notifier_0002
Revises: notifier_0001
"""

from typing import Sequence, Union

from alembic import op

revision: str = 'notifier_0002'
down_revision: Union[str, Sequence[str], None] = 'notifier_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_notifications_sms_phone_sent', 'notifications', ['phone', 'sent_at'], schema='notifier',
                    postgresql_where="channel = 'sms' AND status = 'sent'")


def downgrade() -> None:
    op.drop_index('ix_notifications_sms_phone_sent', table_name='notifications', schema='notifier')
