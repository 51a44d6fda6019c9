"""The product structure as a graph: parent → components over all active BOMs (every version,
every line, whatever its effective dates — a structure that could ever apply must be acyclic and
its levels must hold for every date), low-level codes and cycle paths.

Pure functions over ``{parent_id: {component_id, ...}}`` plus the loader and a lock, shared by
app.domain.boms (which keeps codes current) and app.domain.mrp (which nets in code order).
"""
from collections import defaultdict

from sqlalchemy import select, text

from app.models.manufacturing import Bom, BomLine

# pg_advisory_xact_lock keys: one writer of the BOM structure, one MRP run at a time.
STRUCTURE_LOCK = 0x4F46_0B01
MRP_LOCK = 0x4F46_0B02


def serialise(session, key: int) -> None:
    """Hold a transaction-scoped lock on PostgreSQL (SQLite serialises writers anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def load_structure(session, *, exclude_bom_id: int | None = None) -> dict[int, set[int]]:
    """parent product id -> component ids, over the lines of every active BOM."""
    query = (select(Bom.product_id, BomLine.component_id)
             .join(BomLine, BomLine.bom_id == Bom.id).where(Bom.active.is_(True)))
    if exclude_bom_id is not None:
        query = query.where(Bom.id != exclude_bom_id)
    children: dict[int, set[int]] = defaultdict(set)
    for parent, component in session.execute(query):
        children[parent].add(component)
    return children


def find_cycle(children: dict[int, set[int]], parent: int, components) -> list[int] | None:
    """The path parent → ... → parent that adding edges parent → components would close, if any.

    Depth-first from each new component looking for the parent; the first path found is returned
    with the parent at both ends (a self-reference gives [parent, parent]).
    """
    for start in sorted(set(components)):
        if start == parent:
            return [parent, parent]
        seen = {start}
        stack = [(start, [parent, start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(children.get(node, ()), reverse=True):
                if nxt == parent:
                    return path + [parent]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    return None


class CycleError(ValueError):
    def __init__(self, path: list[int]):
        super().__init__(f"BOM cycle through products {path}")
        self.path = path


def low_level_codes(children: dict[int, set[int]]) -> dict[int, int]:
    """Each item's deepest level in any structure it appears in (0 = nobody's component).

    Kahn's order (a parent is settled only after all of its own parents), so code(c) =
    max(code(parent) + 1) over every parent. Items outside every BOM are not in the result.
    """
    indegree: dict[int, int] = defaultdict(int)
    for parent, comps in children.items():
        indegree.setdefault(parent, 0)
        for c in comps:
            indegree[c] += 1
    code = {item: 0 for item, deg in indegree.items() if deg == 0}
    ready = sorted(code)
    settled = 0
    while ready:
        item = ready.pop()
        settled += 1
        for c in children.get(item, ()):
            code[c] = max(code.get(c, 0), code[item] + 1)
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    if settled < len(indegree):
        raise CycleError(_any_cycle(children) or [])
    return code


def _any_cycle(children) -> list[int] | None:
    """A cycle in stored data (only possible if rows were written around app.domain.boms)."""
    for parent in sorted(children):
        path = find_cycle(children, parent, children[parent])
        if path:
            return path
    return None
