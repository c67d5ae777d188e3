"""A township's result crosses from its worker process to the run unchanged (records.pickled_by_position)."""
from __future__ import annotations

import pickle

import processor.run as run
from processor.paths import SAMPLES_DIR
from processor.problems import has_errors
from processor.records import BranchResult


def test_scored_township__pickled_and_unpickled__every_field_of_every_branch_equal():
    path = sorted((SAMPLES_DIR / "inbox").glob("*.xlsx"))[0]
    run._worker_init(None, 2026)
    result = run._worker_process((str(path), path.name, "0" * 64, []))
    sub, branches, carried, template_id = result
    assert not has_errors(sub.problems) and template_id and carried and branches  # a township read and scored
    assert all(b.units and b.reasons and b.cadres and b.rows for b in branches)

    sub2, branches2, carried2, template_id2 = pickle.loads(pickle.dumps(result))

    assert (carried2, template_id2, sub2.problems) == (carried, template_id, sub.problems)
    assert branches2 == branches  # dataclass equality: every field, down to each row's values
    assert all(isinstance(b, BranchResult) for b in branches2)
    assert [b.to_dict() for b in branches2] == [b.to_dict() for b in branches]


def test_branch_with_every_field_set__survives_the_pipe():
    path = sorted((SAMPLES_DIR / "inbox").glob("*.xlsx"))[0]
    run._worker_init(None, 2026)
    branch = run._worker_process((str(path), path.name, "0" * 64, []))[1][0]
    branch.grade, branch.qualified, branch.committee = "优秀", True, "城关镇党委"
    branch.lists, branch.extras = ["notice"], {"members": 31}
    branch.figures_cache["turnout"] = None

    again = pickle.loads(pickle.dumps(branch))

    assert again == branch and again.key == branch.key and again is not branch


def test_decimals_cross_the_pipe_as_their_text__one_object_per_text_in_the_run():
    # run._worker_init registers records.decimal_by_text with multiprocessing's pickler: a value keeps its exact
    # text (exponent, the sign of a zero), and equal texts from two townships become one object.
    from decimal import Decimal
    from multiprocessing.reduction import ForkingPickler

    run._worker_init(None, 2026)
    texts = ["5", "5.0", "0", "-0", "0.00", "1E+3", "12.345", "-7.5", "NaN", "Infinity"]
    first = pickle.loads(ForkingPickler.dumps([Decimal(t) for t in texts]))
    second = pickle.loads(ForkingPickler.dumps({"scores": [Decimal(t) for t in texts]}))["scores"]
    assert [str(d) for d in first] == texts and [str(d) for d in second] == texts
    assert all(type(d) is Decimal for d in first)
    assert all(a is b for a, b in zip(first, second, strict=True))


def test_two_townships__the_rules_seed_lines_and_cells_their_reasons_cite__one_copy_each_in_the_run():
    # Every township's workbook has the same rows: "评分!C5" in one township's reasons is the same str object as in
    # another's once both are attached (run._attached), as are the rule ids and seed lines.
    from multiprocessing.reduction import ForkingPickler

    run._worker_init(None, 2026)
    paths = sorted((SAMPLES_DIR / "inbox").glob("*.xlsx"))[:2]
    attached = [run._attached(pickle.loads(ForkingPickler.dumps(run._worker_process((str(p), p.name, "0" * 64, [])))),
                              None) for p in paths]
    first: dict[str, str] = {}
    for b in attached[0][1]:
        for r in b.reasons:
            for text in [r.rule, r.source, *r.cells]:
                first.setdefault(text, text)
    again = [text for b in attached[1][1] for r in b.reasons for text in [r.rule, r.source, *r.cells] if text in first]
    assert len(again) > 100  # the two townships share many citations
    assert all(text is first[text] for text in again)
