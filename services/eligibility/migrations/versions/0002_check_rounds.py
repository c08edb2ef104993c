"""Check rounds: one check per application and round (a new round after each set of documents).

Revision ID: eligibility_0002
Revises: eligibility_0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "eligibility_0002"
down_revision: str | Sequence[str] | None = "eligibility_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("checks", sa.Column("round", sa.Integer(), nullable=False, server_default="1"), schema="eligibility")
    op.alter_column("checks", "round", server_default=None, schema="eligibility")
    op.drop_constraint("checks_pkey", "checks", type_="primary", schema="eligibility")
    op.create_primary_key("checks_pkey", "checks", ["application_id", "round"], schema="eligibility")


def downgrade() -> None:
    op.execute("DELETE FROM eligibility.checks WHERE round > 1")
    op.drop_constraint("checks_pkey", "checks", type_="primary", schema="eligibility")
    op.create_primary_key("checks_pkey", "checks", ["application_id"], schema="eligibility")
    op.drop_column("checks", "round", schema="eligibility")
