"""The managers' figures: the service targets (figures), process monitoring (monitoring) and
the monthly report (report), all as SQL over the records and the history. No HTTP here: the
dashboard blueprint (webapp/dashboard) and the API (webapp/api/kpis.py) call these."""

from .figures import CODES, FIGURES, cases, compute, compute_all, teams, trend  # noqa: F401
from .period import Period, PeriodError, month_period, parse_month, parse_period  # noqa: F401
