"""placeholder"""


def experiments_view(metrics, currency, charts, skipped):
    return {"parts": [{"id": "experiments", "title": "A/B experiments"}]}
