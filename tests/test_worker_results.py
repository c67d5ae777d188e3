"""A township's result crosses from its worker process to the run unchanged (records.by_position)."""
from __future__ import annotations

import os
import pickle

import processor.run as run
from processor.paths import SAMPLES_DIR
from processor.problems import has_errors
from processor.records import BranchResult, Change, PackedRecords, Record
from tests.run_helpers import unpickled_bytes


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


def test_township_whose_cells_were_read_as_something_else__its_changes_cross_the_pipe():
    # 东营乡 wrote its dates as 2021年3月17日: each is read as 2021-03-17 and the receipt lists the change. Change is a
    # frozen class; compiled (setup.py), its default unpickling would assign its fields and be refused.
    path = SAMPLES_DIR / "inbox" / "08-东营乡.xlsx"
    run._worker_init(None, 2026)
    sub = run._worker_process((str(path), path.name, "0" * 64, []))[0]
    assert ("支部信息", "H2", Change("last_reelection", "2021年3月17日", "2021-03-17")) in sub.changes

    again = pickle.loads(pickle.dumps(sub))

    assert again.changes == sub.changes and all(type(c) is Change for _, _, c in again.changes)


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
    # …and equal lists of cells are one object, as are the unit's (the same cells) and its (mostly no) vetoes.
    cited: dict[tuple[str, ...], set[int]] = {}
    for _sub, branches, _carried in attached:
        for b in branches:
            for cells in [*(r.cells for r in b.reasons), *(u.cells for u in b.units), *(u.vetoes for u in b.units)]:
                cited.setdefault(tuple(cells), set()).add(id(cells))
    assert () in cited and len(cited) > 20 and all(len(ids) == 1 for ids in cited.values())
    # A reason's wording recurs from branch to branch and township to township: one str of each.
    worded: dict[str, set[int]] = {}
    for _sub, branches, _carried in attached:
        for b in branches:
            for r in b.reasons:
                worded.setdefault(r.text, set()).add(id(r.text))
    assert sum(len(b.reasons) for _s, bs, _c in attached for b in bs) - len(worded) > 30  # many repeat
    assert all(len(ids) == 1 for ids in worded.values())


def test_cited_cells_that_one_text_would_not_hold__cross_the_pipe_as_they_are():
    # Cited cells cross joined into one text (sharing.packed_texts); a list with the joining character or an empty
    # text in it, which joined would not split back the same, crosses as its tuple. Each arrives as the same texts.
    from decimal import Decimal
    from multiprocessing.reduction import ForkingPickler

    from processor.records import Reason, UnitResult

    run._worker_init(None, 2026)
    lists = [[], ["评分!C5"], ["评分!C5", "评分!D5"], [""], ["", "评分!C5"], ["评分!C5\x00评分!D5"], ["a\x00", "b"]]
    reasons = [Reason("得星", "R1-1", "第3行", cells) for cells in lists]
    units = [UnitResult("u", "星", Decimal(1), Decimal(0), Decimal(0), Decimal(5), None, True, cells, 1, 0, cells[::-1])
             for cells in lists]

    back_reasons, back_units = pickle.loads(ForkingPickler.dumps((reasons, units)))

    assert [list(r.cells) for r in back_reasons] == lists
    assert [(list(u.vetoes), list(u.cells)) for u in back_units] == [(cells, cells[::-1]) for cells in lists]
    assert [r.to_dict() for r in back_reasons] == [r.to_dict() for r in reasons]


def _scored(path):
    """A township as its worker scored it, before the result is packed for the run."""
    run._worker_init(None, 2026)
    sub, branches, _carried = run._read_and_score((str(path), path.name, "0" * 64, []))
    return sub, branches


def _rows_of(b):
    return [*b.event_rows, *b.cadres, *(r for records in b.rows.values() for r in records)]


def test_a_branch_s_rows__packed_for_the_run__read_back_as_the_records_it_was_scored_from():
    # The run keeps each branch's own rows packed (records.PackedRecords); the panel's rescoring and the payments
    # read them back: every field in its order, blanks still absent (not None), formulas and cells as they were.
    from multiprocessing.reduction import ForkingPickler

    path = sorted((SAMPLES_DIR / "inbox").glob("*.xlsx"))[0]
    sub, branches = _scored(path)
    before = [[(r.sheet, r.row, list(r.values.items()), r.columns, r.formulas) for r in _rows_of(b)] for b in branches]
    assert any(len(r[2]) < len(r[3]) for rows in before for r in rows)  # some rows leave a column blank

    result = pickle.loads(ForkingPickler.dumps(run._detached(sub, branches, b"")))
    after = [[(r.sheet, r.row, list(r.values.items()), r.columns, r.formulas) for r in _rows_of(b)]
             for b in result[1]]

    assert after == before
    assert all(isinstance(b.cadres, PackedRecords) and isinstance(b.rows["branches"], PackedRecords)
               for b in result[1])
    first = result[1][0]
    assert first.cadres[0] == list(first.cadres)[0] and first.cadres[-1:] == list(first.cadres)[-1:]
    assert len(first.cadres) == len(before[0]) - len(first.event_rows) - sum(len(v) for v in first.rows.values())


def test_packed_row__fields_outside_the_column_order_and_formula_flags__kept():
    columns = {"branch_code": "A", "name": "B", "role": "C", "monthly_pay": "D"}
    rows = [Record("村干部", 2, {"branch_code": "P1", "name": "张三", "role": "书记"}, columns),
            Record("村干部", 3, {"role": "主任", "branch_code": "P1", "note": "x"}, columns, frozenset({"role"})),
            Record("村干部", 4, {"branch_code": "P1", "monthly_pay": None}, columns)]

    packed = pickle.loads(pickle.dumps(PackedRecords(rows)))

    assert [(r.sheet, r.row, list(r.values.items()), r.columns, r.formulas) for r in packed] == \
        [(r.sheet, r.row, list(r.values.items()), r.columns, r.formulas) for r in rows]
    assert packed == rows and len(packed) == 3 and packed[1].cell("note") == "A3"


def test_wide_rows_blank_in_different_places__each_read_back_with_exactly_its_own_fields():
    # A 评分 row leaves different items blank from branch to branch: packed against all its sheet's columns
    # (records.Packer._sparse), each row still reads back with only the fields it had, in its order, None kept.
    columns = {f"item{n}": chr(ord("A") + n) for n in range(20)}
    rows = [Record("评分", 2, {f"item{n}": n for n in range(20) if n % 3}, columns),
            Record("评分", 3, {f"item{n}": None if n == 4 else n for n in range(20) if n != 7}, columns),
            Record("评分", 4, {"item5": 5, "item2": 2}, columns),                          # out of column order
            Record("评分", 5, {"item1": 1, "extra": "x"}, columns, frozenset({"item1"})),  # a field of its own
            Record("评分", 6, {f"item{n}": n for n in range(20)}, columns)]

    packed = pickle.loads(pickle.dumps(PackedRecords(rows)))

    assert [(r.row, list(r.values.items()), r.formulas) for r in packed] == \
        [(r.row, list(r.values.items()), r.formulas) for r in rows]
    assert packed[1].values["item4"] is None and "item7" not in packed[1].values
    # One field's values read straight from the packed rows (the finance 核对 sheet's cadre names): as the Records say.
    for field_id in ("item1", "item4", "item5", "item7", "extra", "missing"):
        assert list(packed.values_of(field_id)) == [r.values.get(field_id) for r in rows]


def test_a_township_s_rows__packed__take_far_less_of_the_run_s_memory_than_as_records():
    from multiprocessing.reduction import ForkingPickler

    path = sorted((SAMPLES_DIR / "inbox").glob("*.xlsx"))[0]
    sub, branches = _scored(path)
    as_records = ForkingPickler.dumps([(b.event_rows, b.cadres, b.rows) for b in branches])
    _sub, packed, *_ = pickle.loads(ForkingPickler.dumps(run._detached(sub, branches, b"")))

    rows_as_records = unpickled_bytes(as_records)
    rows_packed = unpickled_bytes(ForkingPickler.dumps([(b.event_rows, b.cadres, b.rows) for b in packed]))
    assert rows_packed < 0.7 * rows_as_records


def test_two_townships__payment_lines_at_the_same_row__share_one_tuple_of_cells_and_a_note_stays_on_its_line():
    # A province has ~700,000 payment lines; the cells a line cites ("村干部!D5", "村干部!E5") are the same in every
    # township's workbook, so they are kept once (pay._cells_of), and a line without notes holds no list of its own.
    from processor.county import finish_county
    from processor.pay import add_note, compute_payments

    run._worker_init(None, 2026)
    paths = sorted((SAMPLES_DIR / "inbox").glob("*.xlsx"))[:2]
    attached = [run._attached(pickle.loads(pickle.dumps(run._worker_process((str(p), p.name, "0" * 64, [])))), None)
                for p in paths]
    rb = attached[0][0].rules
    county = finish_county(rb, [b for _sub, branches, _ in attached for b in branches], [])
    lines = compute_payments(rb, [sub for sub, _b, _c in attached], county.branches).lines
    by_cells: dict[tuple[str, ...], set[int]] = {}
    for line in lines:
        if line.cells:
            by_cells.setdefault(tuple(line.cells), set()).add(id(line.cells))
    townships = {line.township for line in lines if line.cells}
    assert len(townships) == 2 and any(len({l.township for l in lines if tuple(l.cells) == c}) == 2 for c in by_cells)
    assert all(len(ids) == 1 for ids in by_cells.values())

    worded: dict[str, set[int]] = {}
    for line in lines:
        if line.kind in ("star_reward", "village_award"):  # a few wordings (a cadre's pay makes each performance line's own)
            worded.setdefault(line.basis, set()).add(id(line.basis))
    assert len(worded) > 2 and all(len(ids) == 1 for ids in worded.values())

    # Equal amounts, a cadre's name on each of its lines, equal notes and the words of a basis (a performance line's
    # but for its own figures, pay.PerformanceWords): one object each (pay._line, pay.add_note).
    assert any(not isinstance(l.said, str) for l in lines) and all(l.basis for l in lines)
    for value_of in (lambda l: l.amount, lambda l: l.payee, lambda l: l.notes, lambda l: l.said):
        objects: dict[object, set[int]] = {}
        for line in lines:
            objects.setdefault(value_of(line), set()).add(id(value_of(line)))
        assert len(objects) < len(lines) and all(len(ids) == 1 for ids in objects.values())

    plain = [line for line in lines if not line.notes][:2]
    add_note(plain[0], "测试说明")
    assert list(plain[0].notes) == ["测试说明"] and not plain[1].notes
    assert all(list(l.notes) != ["测试说明"] for l in lines if l is not plain[0])


def test_input_copy__written_by_its_worker_from_the_bytes_it_holds_over_its_last_one__read_as_the_file(tmp_path):
    # The run hands a worker the name of a copy it has not written (run._job); the worker writes the input's bytes
    # to its own copy (run._input_copy), over the last input's: no new file on the disk for each input.
    from processor.intake import Input

    samples = sorted((SAMPLES_DIR / "inbox").glob("*.xlsx"))[:2]
    items = [Input(name=path.name, origin=str(path), data=path.read_bytes()) for path in samples]
    copies = [tmp_path / "input-00001.xlsx", tmp_path / "input-00002.xlsx"]
    run._worker_init(None, 2026)
    direct = [run._worker_process((str(path), item.name, item.sha256, []))
              for path, item in zip(samples, items, strict=True)]
    run._WORKER["copies"] = {str(copy): item for copy, item in zip(copies, items, strict=True)}
    try:
        from_copy = [run._worker_process((str(copy), item.name, item.sha256, []))
                     for copy, item in zip(copies, items, strict=True)]
    finally:
        run._WORKER.pop("copies")

    assert [p.name for p in tmp_path.iterdir()] == [f"reading-{os.getpid()}.xlsx"]  # one, the names never written
    assert (tmp_path / f"reading-{os.getpid()}.xlsx").read_bytes() == items[1].data
    for got, want in zip(from_copy, direct, strict=True):
        assert got[1] and got[1] == want[1]  # every branch, as read from the file itself
        assert (got[0].problems, got[2], got[3]) == (want[0].problems, want[2], want[3])
