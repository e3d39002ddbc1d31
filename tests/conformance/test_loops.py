"""Multi-instance (parallel and sequential, cardinality and collections) and standard
loops, each run after every cache was cleared (as another process would serve it)."""

from __future__ import annotations

import pytest

from tests.conformance.bpmn import definitions, end, flows, loop, mi, process, script, start, user
from tests.conformance.harness import Case


def _case(name, construct, work, steps, data=None):
    files = {f"{name}.bpmn": definitions(process(name, start(), work, end(), flows("start", "work", "end")))}
    return Case(name, construct, files, name, list(steps), data or {})


T = "task"
PAR_COLL = mi(input="items", input_item="item", output="results", output_item="result")
SEQ_COLL = mi(sequential=True, input="items", input_item="item", output="results", output_item="result")
SEQ_DICT = mi(sequential=True, input="prices", input_item="price", output="new_prices", output_item="new_price")
SCRIPT_COLL = mi(input="items", input_item="item", output="out", output_item="doubled")
UNTIL_STOP = mi(sequential=True, input="items", input_item="item", output="out", output_item="answer",
                completion="answer == 'stop'")

CASES = [
    _case("mi_par_card", "multi-instance parallel, cardinality", user("work", mi(cardinality="3")),
          [(T, "work", {"n": 1}), (T, "work", {"n": 2}), (T, "work", {"n": 3})]),
    _case("mi_seq_card", "multi-instance sequential, cardinality", user("work", mi(sequential=True, cardinality="3")),
          [(T, "work", {"n": 1}), (T, "work", {"n": 2}), (T, "work", {"n": 3})]),
    _case("mi_par_card_out", "multi-instance parallel, cardinality",
          user("work", mi(cardinality="2", output="results", output_item="r")),
          [(T, "work", {"r": "a"}), (T, "work", {"r": "b"})]),
    _case("mi_par_coll", "multi-instance parallel, collection", user("work", PAR_COLL),
          [(T, "work", {"result": 10}), (T, "work", {"result": 20}), (T, "work", {"result": 30})], {"items": [1, 2, 3]}),
    _case("mi_seq_coll", "multi-instance sequential, collection", user("work", SEQ_COLL),
          [(T, "work", {"result": "x"}), (T, "work", {"result": "y"})], {"items": ["a", "b"]}),
    _case("mi_seq_dict", "multi-instance sequential, collection", user("work", SEQ_DICT),
          [(T, "work", {"new_price": 11}), (T, "work", {"new_price": 22})], {"prices": {"a": 1, "b": 2}}),
    _case("mi_script_coll", "multi-instance parallel, collection", script("work", "doubled = item * 2", SCRIPT_COLL),
          [], {"items": [1, 2, 3, 4]}),
    _case("mi_seq_script_card", "multi-instance sequential, cardinality",
          script("work", "total = total + 1", mi(sequential=True, cardinality="count")), [], {"count": 4, "total": 0}),
    _case("mi_completion", "multi-instance sequential, collection", user("work", UNTIL_STOP),
          [(T, "work", {"answer": "go"}), (T, "work", {"answer": "stop"})], {"items": [1, 2, 3]}),
    _case("loop_user", "standard loop", user("work", loop("again", maximum=5)),
          [(T, "work", {"again": True}), (T, "work", {"again": True}), (T, "work", {"again": False})]),
    _case("loop_script_max", "standard loop", script("work", "i = i + 1", loop(maximum=3)), [], {"i": 0}),
    _case("loop_test_before", "standard loop", script("work", "i = i + 1", loop("i < 4", test_before=True)), [], {"i": 0}),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_loops_run_as_in_spiffworkflow(run_case, case):
    run_case(case)
