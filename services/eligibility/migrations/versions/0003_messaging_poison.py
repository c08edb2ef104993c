"""messaging poison: dead letters keep the value as bytes (capped, sha256); outbox rows can be quarantined

Revision ID: eligibility_messaging_poison
Revises: eligibility_0002
Create Date: 2026-11-25 10:00:00.000000

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'eligibility_messaging_poison'
down_revision: Union[str, Sequence[str], None] = 'eligibility_0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SCHEMA = 'eligibility'


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('outbox', sa.Column('quarantined_at', sa.DateTime(timezone=True), nullable=True), schema=SCHEMA)
    op.add_column('outbox', sa.Column('error', sa.Text(), nullable=True), schema=SCHEMA)
    op.drop_index('ix_outbox_unpublished', table_name='outbox', schema=SCHEMA, postgresql_where=sa.text('published_at IS NULL'))
    op.create_index(
        'ix_outbox_pending', 'outbox', ['id'], unique=False, schema=SCHEMA,
        postgresql_where=sa.text('published_at IS NULL AND quarantined_at IS NULL'),
    )
    op.add_column('dead_letters', sa.Column('payload', sa.LargeBinary(), nullable=True), schema=SCHEMA)
    op.add_column('dead_letters', sa.Column('payload_size', sa.Integer(), nullable=True), schema=SCHEMA)
    op.add_column('dead_letters', sa.Column('payload_sha256', sa.Text(), nullable=True), schema=SCHEMA)
    op.add_column(
        'dead_letters',
        sa.Column('payload_truncated', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        schema=SCHEMA,
    )
    # Older dead letters kept the value decoded with replacement characters: that text is all there is.
    op.execute(
        f"UPDATE {SCHEMA}.dead_letters SET payload = convert_to(raw, 'UTF8'),"
        " payload_size = octet_length(convert_to(raw, 'UTF8')),"
        " payload_sha256 = encode(sha256(convert_to(raw, 'UTF8')), 'hex')"
    )
    op.alter_column('dead_letters', 'payload_size', existing_type=sa.Integer(), nullable=False, schema=SCHEMA)
    op.drop_column('dead_letters', 'raw', schema=SCHEMA)


def downgrade() -> None:
    """Downgrade schema."""
    op.add_column('dead_letters', sa.Column('raw', sa.Text(), nullable=True), schema=SCHEMA)
    # bytea -> text cannot fail: escape form (NUL and non-ASCII bytes as octal escapes).
    op.execute(f"UPDATE {SCHEMA}.dead_letters SET raw = coalesce(encode(payload, 'escape'), '')")
    op.alter_column('dead_letters', 'raw', existing_type=sa.Text(), nullable=False, schema=SCHEMA)
    op.drop_column('dead_letters', 'payload_truncated', schema=SCHEMA)
    op.drop_column('dead_letters', 'payload_sha256', schema=SCHEMA)
    op.drop_column('dead_letters', 'payload_size', schema=SCHEMA)
    op.drop_column('dead_letters', 'payload', schema=SCHEMA)
    op.drop_index(
        'ix_outbox_pending', table_name='outbox', schema=SCHEMA,
        postgresql_where=sa.text('published_at IS NULL AND quarantined_at IS NULL'),
    )
    # Quarantined rows go back to the queue the old relay knew.
    op.create_index('ix_outbox_unpublished', 'outbox', ['id'], unique=False, schema=SCHEMA, postgresql_where=sa.text('published_at IS NULL'))
    op.drop_column('outbox', 'error', schema=SCHEMA)
    op.drop_column('outbox', 'quarantined_at', schema=SCHEMA)
