"""BOMs: validation, cycles refused with their path, low-level codes kept current."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.domain import boms, planning_data
from app.domain.bom_structure import CycleError, find_cycle, low_level_codes
from app.domain.errors import Conflict, Invalid, NotFound
from app.models.manufacturing import ItemPlanning
from tests.domain.test_inventory import make_product

D = Decimal


@pytest.fixture
def parts(session):
    return {sku: make_product(session, sku) for sku in ("A", "B", "C", "D", "E")}


def line(component, qty="1", **kw):
    return {"component": component, "qty_per": D(qty), **kw}


def codes(session, parts):
    stored = dict(session.execute(
        select(ItemPlanning.product_id, ItemPlanning.low_level_code)).all())
    return {sku: stored.get(p.id, 0) for sku, p in parts.items()}


def test_a_bom_is_created_with_its_lines_and_the_next_version(session, parts):
    first = boms.create_bom(session, product="A", lines=[line("B", "2"), line("C", "0.5",
                                                                            scrap_percent=D(4))])
    second = boms.create_bom(session, product="A", lines=[line("B")],
                             effective_from=date(2026, 6, 1), note="cheaper")
    assert (first.version, second.version) == (1, 2)
    assert [(ln.line_no, ln.component.sku, ln.qty_per, ln.scrap_percent) for ln in first.lines] == [
        (1, "B", D(2), D(0)), (2, "C", D("0.5"), D(4))]
    assert boms.get_bom(session, second.id).effective_from == date(2026, 6, 1)
    listed = boms.list_boms(session, product="A")
    assert [b.version for b in listed["items"]] == [2, 1] and listed["total"] == 2


def test_every_problem_is_reported_at_once(session, parts):
    with pytest.raises(Invalid) as err:
        boms.create_bom(session, product="NOPE", effective_from=date(2026, 5, 2),
                        effective_to=date(2026, 5, 1),
                        lines=[line("ZZZ"), line("B", "0"), line("C", scrap_percent=D(100)),
                               line("D", effective_from=date(2026, 2, 1),
                                    effective_to=date(2026, 1, 1)),
                               line("B", "2")])
    assert {(p["field"], p["message"]) for p in err.value.details} == {
        ("product", "unknown product 'NOPE'"),
        ("effective_to", "must be on or after effective_from"),
        ("lines[0].component", "unknown product 'ZZZ'"),
        ("lines[1].qty_per", "must be greater than 0"),
        ("lines[2].scrap_percent", "must be at least 0 and below 100"),
        ("lines[3].effective_to", "must be on or after effective_from"),
        ("lines[4].component", "repeats line 2 for overlapping dates"),
    }
    with pytest.raises(Invalid, match="lines"):
        boms.create_bom(session, product="A", lines=[])


def test_the_same_component_may_repeat_for_dates_that_do_not_overlap(session, parts):
    bom = boms.create_bom(session, product="A", lines=[
        line("B", "2", effective_to=date(2026, 3, 31)),
        line("B", "3", effective_from=date(2026, 4, 1))])
    assert len(bom.lines) == 2


def test_an_existing_version_is_a_conflict(session, parts):
    boms.create_bom(session, product="A", version=3, lines=[line("B")])
    with pytest.raises(Conflict):
        boms.create_bom(session, product="A", version=3, lines=[line("C")])


def test_a_cycle_is_refused_with_its_path(session, parts):
    boms.create_bom(session, product="A", lines=[line("B"), line("E")])
    boms.create_bom(session, product="B", lines=[line("C")])
    with pytest.raises(Invalid) as err:
        boms.create_bom(session, product="C", lines=[line("D"), line("A")])
    assert err.value.details == [{"field": "lines", "message": "BOM cycle: C → A → B → C"}]
    with pytest.raises(Invalid) as err:
        boms.create_bom(session, product="D", lines=[line("D")])
    assert err.value.details[0]["message"] == "BOM cycle: D → D"


def test_a_cycle_through_an_update_or_a_reactivation_is_refused(session, parts):
    ab = boms.create_bom(session, product="A", lines=[line("B")])
    bc = boms.create_bom(session, product="B", lines=[line("C")])
    with pytest.raises(Invalid, match="cycle") as err:
        boms.update_bom(session, bc.id, {"lines": [line("C"), line("A")]})
    assert err.value.details[0]["message"] == "BOM cycle: B → A → B"

    boms.update_bom(session, ab.id, {"active": False})
    ba = boms.update_bom(session, bc.id, {"lines": [line("A")]})  # fine while A → B is inactive
    assert [ln.component.sku for ln in ba.lines] == ["A"]
    with pytest.raises(Invalid) as err:
        boms.update_bom(session, ab.id, {"active": True})
    assert err.value.details[0]["message"] == "BOM cycle: A → B → A"


def test_low_level_codes_follow_every_change(session, parts):
    """A → B → C and A → C: C is on level 2 (its deepest); D joins under C; E stays 0."""
    ab = boms.create_bom(session, product="A", lines=[line("B"), line("C")])
    assert codes(session, parts) == {"A": 0, "B": 1, "C": 1, "D": 0, "E": 0}
    bc = boms.create_bom(session, product="B", lines=[line("C")])
    assert codes(session, parts) == {"A": 0, "B": 1, "C": 2, "D": 0, "E": 0}
    boms.create_bom(session, product="C", lines=[line("D")])
    assert codes(session, parts) == {"A": 0, "B": 1, "C": 2, "D": 3, "E": 0}
    boms.update_bom(session, bc.id, {"active": False})
    assert codes(session, parts) == {"A": 0, "B": 1, "C": 1, "D": 2, "E": 0}
    boms.update_bom(session, ab.id, {"lines": [line("E")]})
    assert codes(session, parts) == {"A": 0, "B": 0, "C": 0, "D": 1, "E": 1}


def test_planning_settings_are_kept_apart_from_the_low_level_code(session, parts):
    boms.create_bom(session, product="A", lines=[line("B")])
    row = planning_data.set_item_planning(session, "B", lot_sizing="fixed", fixed_qty=D(10))
    assert (row.low_level_code, row.lot_sizing, row.fixed_qty) == (1, "fixed", D(10))
    with pytest.raises(Invalid) as err:
        planning_data.set_item_planning(session, "B", lot_sizing="eoq", safety_stock=D(-1),
                                        low_level_code=5)
    assert {p["field"] for p in err.value.details} == {
        "low_level_code", "safety_stock", "order_cost", "holding_cost"}
    with pytest.raises(NotFound):
        planning_data.set_item_planning(session, "NOPE", safety_stock=D(1))


def test_unknown_boms_are_not_found(session):
    with pytest.raises(NotFound):
        boms.get_bom(session, 999)
    with pytest.raises(NotFound):
        boms.update_bom(session, 999, {"active": False})


def test_graph_helpers():
    children = {1: {2, 3}, 2: {3}, 3: {4}}
    assert low_level_codes(children) == {1: 0, 2: 1, 3: 2, 4: 3}
    assert find_cycle(children, 4, [1]) == [4, 1, 3, 4]  # the first path found
    assert find_cycle(children, 5, [1]) is None
    with pytest.raises(CycleError) as err:
        low_level_codes({1: {2}, 2: {3}, 3: {1}})
    assert err.value.path == [1, 2, 3, 1]


@pytest.mark.postgres_only
def test_two_concurrent_changes_cannot_close_a_cycle(app, session, parts):
    from app.extensions import db
    from tests.postgres.test_reservation_race import in_threads

    session.commit()
    pairs = [("A", "B"), ("B", "A")]

    def create(i):
        try:
            boms.create_bom(db.session, product=pairs[i][0], lines=[line(pairs[i][1])])
            return "created"
        except Invalid as err:
            return err.message

    results = in_threads(app, 2, create)
    assert sorted(results) in (["BOM cycle: A → B → A", "created"],
                               ["BOM cycle: B → A → B", "created"])
