"""Master data: the checks every master-data write shares, name normalisation for duplicate
detection, paging, and warehouses with their bins.

Customers and suppliers live in app/domain/customers.py, products and prices in
app/domain/catalog.py. Validation collects every problem before raising one Invalid, so a
caller fixes a record in one round trip.
"""
import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from app.domain.errors import Invalid, NotFound
from app.models.inventory import Bin, Warehouse

MISSING = object()
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # codes travel in URLs
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ADDRESS_KEYS = ("line1", "line2", "city", "state", "postcode", "country", "contact", "phone")
ADDRESS_REQUIRED = ("line1", "city", "country")
MAX_INT = 1_000_000  # a bound well inside a 32-bit column; no lead time or priority needs more

# Legal forms dropped before names are compared ("Hengtai Trading Co., Ltd." = "Hengtai Trading").
LEGAL_WORDS = frozenset("""ltd limited co company corp corporation inc incorporated llc llp plc
    gmbh ag kg sa sas sarl srl spa bv nv pte pty oy ab as kk""".split())
LEGAL_SUFFIXES_CJK = ("股份有限公司", "有限责任公司", "有限公司", "株式会社", "公司")


def normalize_name(name: str | None) -> str:
    """Lowercase, punctuation and legal forms removed, spaces collapsed."""
    text = unicodedata.normalize("NFKC", name or "").lower()
    text = "".join(" " if unicodedata.category(ch)[0] in "PS" else ch for ch in text)
    words = []
    for word in text.split():
        if word in LEGAL_WORDS:
            continue
        for suffix in LEGAL_SUFFIXES_CJK:
            if word.endswith(suffix) and len(word) > len(suffix):
                word = word[: -len(suffix)]
                break
        words.append(word)
    return " ".join(words)[:200]


class Checker:
    """Reads fields from a request body, records every problem, and keeps the valid values.

    On create (partial=False) a missing required field is a problem; on update (partial=True)
    only the fields present are checked. `values` holds attribute -> cleaned value.
    """

    def __init__(self, data: dict | None, *, partial: bool = False, prefix: str = ""):
        self.data = data if isinstance(data, dict) else {}
        self.partial = partial
        self.prefix = prefix
        self.problems: list[dict] = []
        self.values: dict = {}

    def add(self, field: str, message: str) -> None:
        self.problems.append({"field": self.prefix + field, "message": message})

    def refuse_unknown(self, allowed) -> None:
        for key in sorted(set(self.data) - set(allowed)):
            self.add(key, "unknown field")

    def raise_if_any(self, what: str) -> None:
        if self.problems:
            fields = ", ".join(dict.fromkeys(p["field"] for p in self.problems))
            raise Invalid(f"invalid {what}: {fields}", self.problems)

    def _get(self, name, required, default):
        if name not in self.data:
            if self.partial:
                return MISSING
            if required and (default is None or default is MISSING):
                self.add(name, "is required")
                return MISSING
            return default
        value = self.data[name]
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(name, "is required")
                return MISSING
            return None
        return value

    def _keep(self, name, value, attr=None):
        self.values[attr or name] = value
        return value

    def text(self, name, max_len, *, required=False, default=None, pattern=None, message=None):
        value = self._get(name, required, default)
        if value is MISSING or value is None:
            return value if value is MISSING else self._keep(name, None)
        if not isinstance(value, str):
            self.add(name, "must be a string")
            return MISSING
        value = value.strip()
        if len(value) > max_len:
            self.add(name, f"must be at most {max_len} characters")
        elif pattern is not None and not pattern.match(value):
            self.add(name, message or "has an invalid format")
        else:
            return self._keep(name, value)
        return MISSING

    def code(self, name, max_len=32, *, required=True):
        return self.text(name, max_len, required=required, pattern=CODE_PATTERN,
                         message="use letters, digits, '.', '_' or '-' (no spaces)")

    def email(self, name):
        value = self.text(name, 200, pattern=EMAIL_PATTERN, message="is not an e-mail address")
        if isinstance(value, str):
            self.values[name] = value.lower()  # compared case-insensitively
        return value

    def currency(self, name, default="CNY"):
        value = self.text(name, 200, required=True, default=default,
                          pattern=re.compile(r"^[A-Za-z]{3}$"),
                          message="must be a 3-letter ISO 4217 code")
        if isinstance(value, str):
            self.values[name] = value = value.upper()
        return value

    def choice(self, name, options, *, default=MISSING):
        value = self._get(name, default is MISSING, default)
        if value is MISSING:
            return value
        if value not in options:
            self.add(name, f"must be one of: {', '.join(options)}")
            return MISSING
        return self._keep(name, value)

    def boolean(self, name, *, default=MISSING):
        value = self._get(name, False, default)
        if value is MISSING or value is None:
            if value is None:
                self.add(name, "must be true or false")
            return MISSING
        if not isinstance(value, bool):
            self.add(name, "must be true or false")
            return MISSING
        return self._keep(name, value)

    def decimal(self, name, places, *, required=False, default=MISSING, minimum=None,
                above=None, maximum=None):
        """A Decimal with at most `places` decimals, within the column's precision (14)."""
        value = self._get(name, required, default)
        if value is MISSING or value is None:
            if value is None:
                self.add(name, "must be a number")  # the decimal columns are NOT NULL
            return MISSING
        try:
            if isinstance(value, bool):
                raise TypeError
            number = Decimal(str(value))
            if not number.is_finite():
                raise ValueError
        except (InvalidOperation, ValueError, TypeError):
            self.add(name, "must be a number")
            return MISSING
        step = Decimal(1).scaleb(-places)
        if abs(number) >= Decimal(10) ** (14 - places):
            self.add(name, "is too large")
        elif number != number.quantize(step):
            self.add(name, f"must have at most {places} decimal places")
        elif minimum is not None and number < minimum:
            self.add(name, f"must be at least {minimum}")
        elif above is not None and number <= above:
            self.add(name, f"must be greater than {above}")
        elif maximum is not None and number > maximum:
            self.add(name, f"must be at most {maximum}")
        else:
            return self._keep(name, number.quantize(step))
        return MISSING

    def integer(self, name, *, default=MISSING, minimum=0, maximum=MAX_INT):
        value = self._get(name, False, default)
        if value is MISSING or value is None:
            if value is None:
                self.add(name, "must be a whole number")
            return MISSING
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(name, "must be a whole number")
        elif not minimum <= value <= maximum:
            self.add(name, f"must be between {minimum} and {maximum}")
        else:
            return self._keep(name, value)
        return MISSING

    def date(self, name):
        value = self._get(name, False, None)
        if value is MISSING or value is None:
            return value if value is MISSING else self._keep(name, None)
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                pass
        if not isinstance(value, date):
            self.add(name, "must be a date (YYYY-MM-DD)")
            return MISSING
        return self._keep(name, value)

    def address(self, name):
        """An address dict: line1, city and a 2-letter country at least."""
        value = self._get(name, False, None)
        if value is MISSING or value is None:
            return value if value is MISSING else self._keep(name, None)
        if not isinstance(value, dict):
            self.add(name, "must be an object with line1, city and country")
            return MISSING
        inner = Checker(value, prefix=f"{self.prefix}{name}.")
        inner.refuse_unknown(ADDRESS_KEYS)
        for key in ADDRESS_KEYS:
            if key == "country":
                inner.text(key, 200, required=True, pattern=re.compile(r"^[A-Za-z]{2}$"),
                           message="must be a 2-letter ISO 3166 country code")
            else:
                inner.text(key, 200, required=key in ADDRESS_REQUIRED)
        self.problems += inner.problems
        if inner.problems:
            return MISSING
        cleaned = {k: v for k, v in inner.values.items() if v is not None}
        cleaned["country"] = cleaned["country"].upper()
        return self._keep(name, cleaned)


def apply(record, values: dict) -> None:
    for attr, value in values.items():
        setattr(record, attr, value)


def insert_unique(session, record, what: str, field: str = "code") -> None:
    """Add and flush in a savepoint: a concurrent insert of the same code becomes a 422."""
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        raise Invalid(f"{what} already exists",
                      [{"field": field, "message": "already exists"}]) from None


def code_taken(session, model, column, value, exclude_id=None) -> bool:
    stmt = select(model.id).where(column == value)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    return session.scalar(stmt.limit(1)) is not None


def text_search(q: str | None, *columns):
    """A case-insensitive substring match over columns; % and _ in q are literal."""
    if not q:
        return None
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(*(c.ilike(f"%{escaped}%", escape="\\") for c in columns))


def page_of(session, stmt, order_by, page: int = 1, per_page: int = 50) -> dict:
    page, per_page = max(int(page), 1), min(max(int(per_page), 1), 500)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(session.scalars(stmt.order_by(order_by).limit(per_page)
                                 .offset((page - 1) * per_page)))
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def get_by(session, model, column, value, what: str, *, lock: bool = False):
    stmt = select(model).where(column == value)
    if lock:
        stmt = stmt.with_for_update()
    record = session.scalar(stmt)
    if record is None:
        raise NotFound(f"{what} {value!r} not found")
    return record


# ---------------------------------------------------------------- warehouses and bins

WAREHOUSE_FIELDS = ("code", "name", "address", "active", "bins")


def _bin_codes(checker: Checker, bins) -> list[str]:
    if bins is None:
        return []
    if not isinstance(bins, list):
        checker.add("bins", "must be a list of {code}")
        return []
    codes = []
    for index, entry in enumerate(bins):
        inner = Checker(entry if isinstance(entry, dict) else {"code": entry},
                        prefix=f"bins[{index}].")
        inner.refuse_unknown(("code",))
        code = inner.code("code")
        if isinstance(code, str) and code in codes:
            inner.add("code", "repeats an earlier bin")
        checker.problems += inner.problems
        if not inner.problems:
            codes.append(code)
    return codes


def create_warehouse(session, data: dict) -> Warehouse:
    """A warehouse with its bins ({"code": ...} each)."""
    checker = Checker(data)
    checker.refuse_unknown(WAREHOUSE_FIELDS)
    code = checker.code("code")
    checker.text("name", 200, required=True)
    checker.address("address")
    checker.boolean("active", default=True)
    bins = _bin_codes(checker, data.get("bins") if isinstance(data, dict) else None)
    if isinstance(code, str) and code_taken(session, Warehouse, Warehouse.code, code):
        checker.add("code", "already exists")
    checker.raise_if_any("warehouse")
    warehouse = Warehouse(**checker.values)
    warehouse.bins = [Bin(code=c) for c in bins]
    insert_unique(session, warehouse, f"warehouse {code}")
    session.refresh(warehouse, ["bins"])  # in the relationship's order (by code)
    return warehouse


def update_warehouse(session, code: str, data: dict) -> Warehouse:
    """Name, address, active; bins are added with add_bin (they carry stock, so never dropped)."""
    warehouse = get_by(session, Warehouse, Warehouse.code, code, "warehouse", lock=True)
    checker = Checker(data, partial=True)
    checker.refuse_unknown(("name", "address", "active"))
    checker.text("name", 200, required=True)
    checker.address("address")
    checker.boolean("active")
    checker.raise_if_any("warehouse")
    apply(warehouse, checker.values)
    session.flush()
    return warehouse


def get_warehouse(session, code: str) -> Warehouse:
    return get_by(session, Warehouse, Warehouse.code, code, "warehouse")


def list_warehouses(session, *, q=None, active=None, page=1, per_page=50) -> dict:
    stmt = select(Warehouse)
    if (match := text_search(q, Warehouse.code, Warehouse.name)) is not None:
        stmt = stmt.where(match)
    if active is not None:
        stmt = stmt.where(Warehouse.active.is_(active))
    return page_of(session, stmt, Warehouse.code, page, per_page)


def deactivate_warehouse(session, code: str) -> Warehouse:
    return update_warehouse(session, code, {"active": False})


def add_bin(session, warehouse_code: str, data: dict) -> Bin:
    warehouse = get_warehouse(session, warehouse_code)
    checker = Checker(data)
    checker.refuse_unknown(("code",))
    code = checker.code("code")
    if isinstance(code, str) and session.scalar(select(Bin.id).where(
            Bin.warehouse_id == warehouse.id, Bin.code == code)) is not None:
        checker.add("code", "already exists")
    checker.raise_if_any("bin")
    bin_ = Bin(warehouse_id=warehouse.id, code=code)
    insert_unique(session, bin_, f"bin {code} in {warehouse_code}")
    session.refresh(warehouse, ["bins"])
    return bin_
