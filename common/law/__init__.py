"""The law as data: dated parameters (params.py, params.json) and the holiday calendar data (calendar_kz.json)."""
