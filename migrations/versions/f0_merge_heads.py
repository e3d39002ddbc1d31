"""merge the branches of the first release: service and quality records, audit log,
job backoff, KPI indexes

Revision ID: f0merge01
Revises: c7audit01, d5scale01, e8kpi01
"""

revision = "f0merge01"
down_revision = ("c7audit01", "d5scale01", "e8kpi01")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
