"""Cases of mlsys_course.datasets: the seeded worlds."""

from api_cases import Case

CASES = {
    "make_transactions": Case(
        call=lambda: {"n": 300, "random_state": 0},
        bad={"n": [0, -5, 2.5, "300", 10**12], "fraud_rate": [0.0, 1.0, -0.1, float("nan")],
             "label_maturity_days": [-1, 100_000, 1.5], "new_merchant_share": [1.0, -0.1],
             "start": ["not a date", 20240101], "end": ["2023-01-01"], "random_state": [-1, 1.5, "0"],
             "return_entities": ["yes", 1], "n_users": [0, 10**12], "n_merchants": [0, 10**12]},
        valid={"start": ["2024-03-01"], "n_users": [None, 50], "random_state": [None]},
    ),
    "make_click_log": Case(
        call=lambda: {"n_impressions": 300, "random_state": 0},
        bad={"n_impressions": [0, 10**12], "click_delay_minutes": [-1.0, 1e9, float("nan")], "days": [0, -1, 10**6],
             "n_positions": [0, 10**6], "start": ["2262-04-01", "soon"], "return_entities": ["no"]},
        valid={"click_delay_minutes": [0.0, 1_440.0 * 365]},
    ),
    "make_app_usage": Case(
        call=lambda: {"n_users": 20, "n_apps": 8, "n_new_apps": 2, "n_events": 200, "random_state": 0},
        bad={"n_events": [0, 10**12], "n_apps": [1, 3], "n_new_apps": [-1], "release_day": [0.0, 30.0, 31.0]},
    ),
    "make_feed": Case(
        call=lambda: {"n_posts": 50, "random_state": 0},
        bad={"n_posts": [0, 10**12, 2.5], "noise": [-1.0, float("inf")]},
        valid={"noise": [0.0]},
    ),
}
