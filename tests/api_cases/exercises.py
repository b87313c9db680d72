"""Cases of mlsys_course.exercises: the checker the notebooks' check cells call."""

from api_cases import Case

CASES = {
    "check": Case(call=lambda: {"exercise_id": "1.1", "answer": 91},
                  bad={"exercise_id": ["9.9", "one", 1.1, None]}, skip={"answer"}),  # any answer gets a verdict
    "evaluate": Case(call=lambda: {"exercise_id": "1.1", "answer": 91},
                     bad={"exercise_id": ["9.9", "", 11]}, skip={"answer"}),
    "exercise": Case(call=lambda: {"exercise_id": "99.1"}, bad={"exercise_id": ["1.1", 3, ""]}),
    "is_number": Case(call=lambda: {"value": 1.5}, skip={"value"}),  # a predicate: every value gets True/False
    "Verdict": Case(call=lambda: {"exercise": "1.1", "passed": True, "message": "fine"},
                    bad={"exercise": [3, None], "passed": ["yes", None], "message": [None, 3]}),
}
