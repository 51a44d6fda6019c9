"""Where a serial number or a batch came from and where it went, from the stock ledger.

Every ledger row names the document behind it (doc_type, doc_id). ``trace`` turns the rows of one
serial (or batch) into a chronological list of events and adds what the documents say:

- shipments (doc_type "shipment"): the reservation of the order line, the pick (the ledger row),
  the carrier booking (tracking number) and the delivery, with order and customer;
- any other document (goods receipt, return, work order, ...) is read generically by
  app.domain.ledger_documents: found by number in its doc_type's table, with what it points to
  (goods receipt -> purchase order -> supplier; return -> customer and order); a document whose
  table does not exist (yet) shows as its type and id;
- cycle count adjustments name their count ("cycle count CC-…").

The summary says where the serial is now (in stock in a bin / shipped or delivered to a
customer / scrapped / issued) or, for a batch, how much was received, what is on hand per bin,
and what each customer got (the recall list).
"""
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from app.domain.errors import Invalid, NotFound
from app.domain.ledger_documents import Documents
from app.models.inventory import Bin, Product, Reservation, StockLedger, Warehouse
from app.models.sales import Customer, SalesOrder, SalesOrderLine
from app.models.types import ZERO

OUTGOING = ("picked", "scrapped", "issued", "adjusted")
STEPS = {"reserved": -1, "picked": 0, "shipped": 1, "delivered": 2}
QTY = Decimal("0.001")


# ---------------------------------------------------------------- entry point

def trace(session, *, serial: str | None = None, batch: str | None = None,
          sku: str | None = None) -> dict:
    if (serial is None) == (batch is None):
        raise Invalid("give a serial or a batch (one of them)", [
            {"field": "serial", "message": "give exactly one of serial, batch"}])
    query = (select(StockLedger, Product, Bin, Warehouse)
             .join(Product, Product.id == StockLedger.product_id)
             .join(Bin, Bin.id == StockLedger.bin_id)
             .join(Warehouse, Warehouse.id == Bin.warehouse_id)
             .where(StockLedger.serial == serial if serial is not None
                    else StockLedger.batch == batch)
             .order_by(StockLedger.at, StockLedger.id))
    if sku is not None:
        query = query.where(Product.sku == sku)
    rows = session.execute(query).all()
    what = f"serial {serial}" if serial is not None else f"batch {batch}"
    if not rows:
        raise NotFound(f"{what} is not in the stock ledger" + (f" for {sku}" if sku else ""),
                       [{"field": "serial" if serial is not None else "batch",
                         "message": "unknown"}])
    skus = sorted({product.sku for _, product, _, _ in rows})
    if len(skus) > 1:
        raise Invalid(f"{what} exists for several products: give the sku", [
            {"field": "sku", "message": f"one of {', '.join(skus)}"}])
    product = rows[0][1]
    docs = Documents(session)
    events = _events(session, rows, docs, serial=serial, batch=batch)
    result = {"serial": serial, "batch": batch,
              "product": {"sku": product.sku, "name": product.name, "tracking": product.tracking,
                          "unit": product.unit},
              "events": events}
    if serial is not None:
        result["summary"] = _serial_summary(rows, events)
    else:
        result["summary"] = _batch_summary(session, rows, events)
    return _plain(result)


# ---------------------------------------------------------------- events

def _kind_of(row: StockLedger) -> str:
    text = f"{row.doc_type or ''} {row.note or ''}".lower()
    if row.kind == "transfer":
        return "moved"
    if row.doc_type == "shipment" and row.quantity < 0:
        return "picked"
    if row.kind == "return" and row.quantity > 0:
        return "returned"
    if row.quantity < 0 and any(w in text for w in ("scrap", "written off", "write-off")):
        return "scrapped"
    if row.kind == "receipt":
        return "received"
    if row.kind == "adjustment":
        return "adjusted"
    if row.kind == "issue":
        return "issued"
    return row.kind


def _place(warehouse: Warehouse, bin_: Bin) -> dict:
    return {"warehouse": warehouse.code, "bin": bin_.code}


def _events(session, rows, docs, *, serial, batch) -> list[dict]:
    events, moves = [], {}
    for row, product, bin_, wh in rows:
        kind = _kind_of(row)
        base = {"at": row.at, "event": kind, "quantity": row.quantity, "batch": row.batch,
                "serial": row.serial, "expiry": row.expiry, "user": row.created_by,
                "note": row.note, "ledger_ids": [row.id],
                "document": {"type": row.doc_type, "id": row.doc_id}}
        if kind == "moved":  # a transfer is a pair of rows (out of one bin, into another)
            key = (row.doc_type, row.doc_id, row.serial, row.batch)
            event = moves.get(key)
            if event is None:
                event = moves[key] = {**base, "quantity": abs(row.quantity), "from": None,
                                      "to": None, "ledger_ids": []}
                events.append(event)
            event["from" if row.quantity < 0 else "to"] = _place(wh, bin_)
            event["ledger_ids"].append(row.id)
            continue
        event = {**base, **_place(wh, bin_)}
        if row.doc_type == "shipment":
            events += _shipment_events(session, docs, row, product, bin_, event, serial, batch)
            continue
        if row.doc_type == "adjustment" and (row.note or "").startswith("cycle count "):
            event["document"] = {"type": "cycle_count", "id": row.doc_id,
                                 "number": (row.doc_id or "").split("/")[0],
                                 "reason": row.note}
        elif row.doc_type == "adjustment":
            event["document"]["reason"] = row.note
        else:
            event["document"].update(docs.generic(row.doc_type, row.doc_id))
        if kind == "received":
            event.update(_supplier_of(event["document"], product))
        events.append(event)
    for event in events:
        if event["event"] == "moved":
            event.update({"warehouse": (event["to"] or event["from"] or {}).get("warehouse"),
                          "bin": (event["to"] or event["from"] or {}).get("bin")})
    # by time; at the same instant in the order things happen: by ledger row, and a shipment's
    # reservation, pick, booking and delivery around the row of its pick
    events.sort(key=lambda e: (e["at"], e.get("anchor") or min(e["ledger_ids"] or [0]),
                               STEPS.get(e["event"], 0)))
    for event in events:
        event.pop("anchor", None)
    return _dedupe(events)


def _shipment_events(session, docs, row, product, bin_, picked, serial, batch) -> list[dict]:
    """The pick (the ledger row) with the reservation before it and the shipping after it."""
    shipment = docs.shipment(row.doc_id)
    if shipment is None:
        return [picked]
    order = session.get(SalesOrder, shipment.order_id)
    customer = session.get(Customer, order.customer_id)
    who = {"order": order.number, "customer": {"code": customer.code, "name": customer.name}}
    lines = [ln for ln in shipment.lines
             if ln.product_id == product.id and ln.bin_id == bin_.id
             and (serial is None or serial in (ln.serials or []))
             and (batch is None or ln.batch == batch)]
    order_lines = {ln.order_line_id: session.get(SalesOrderLine, ln.order_line_id)
                   for ln in lines}
    picked["document"] = {"type": "shipment", "id": shipment.number,
                          "shipment": shipment.number, **who,
                          "order_lines": sorted(ol.line_no for ol in order_lines.values())}
    events = [picked]
    anchor = row.id
    for ln in lines:
        res = session.get(Reservation, ln.reservation_id) if ln.reservation_id else None
        if res is not None:
            events.append({**_copy_place(picked), "at": res.created_at, "event": "reserved",
                           "quantity": res.quantity, "user": None,
                           "note": f"reserved for order {order.number} line "
                                   f"{order_lines[ln.order_line_id].line_no}",
                           "ledger_ids": [], "anchor": anchor, "reservation_id": res.id,
                           "document": {"type": "reservation", "id": str(res.id), **who,
                                        "order_line": order_lines[ln.order_line_id].line_no,
                                        "status": res.status}})
    shipped = {"type": "shipment", "id": shipment.number, "shipment": shipment.number, **who,
               "carrier": shipment.carrier, "tracking_number": shipment.tracking_number,
               "status": shipment.status}
    qty = abs(picked["quantity"])
    if shipment.shipped_at is not None:
        events.append({**_copy_place(picked), "at": shipment.shipped_at, "event": "shipped",
                       "quantity": qty, "user": None, "note": None, "ledger_ids": [],
                       "anchor": anchor, "document": shipped})
    if shipment.delivered_at is not None:
        events.append({**_copy_place(picked), "at": shipment.delivered_at, "event": "delivered",
                       "quantity": qty, "user": None, "note": None, "ledger_ids": [],
                       "anchor": anchor, "document": shipped})
    return events


def _copy_place(event) -> dict:
    return {k: event[k] for k in ("warehouse", "bin", "batch", "serial", "expiry")}


def _dedupe(events) -> list[dict]:
    """A shipment booked from several ledger rows (a batch over two bins, or several serials
    traced as one batch) ships and delivers once per bin: keep one of each."""
    seen, kept = set(), []
    for e in events:
        if e["event"] in ("shipped", "delivered", "reserved"):
            key = (e["event"], e["document"].get("id"), e.get("reservation_id"), e["bin"])
            if key in seen:
                continue
            seen.add(key)
        kept.append(e)
    return kept


def _supplier_of(document: dict, product: Product) -> dict:
    """The supplier a receipt's document names (goods receipt -> purchase order -> supplier);
    without one (a plain receipt, the opening stock), the product's default supplier, said so."""
    found = _find_key(document, "supplier")
    if found is not None:
        return {"supplier": found, "supplier_source": "document"}
    if product.default_supplier is not None:
        return {"supplier": {"code": product.default_supplier.code,
                             "name": product.default_supplier.name},
                "supplier_source": "product default supplier"}
    return {"supplier": None, "supplier_source": None}


def _find_key(value, key):
    if isinstance(value, dict):
        if isinstance(value.get(key), dict):
            return value[key]
        for v in value.values():
            found = _find_key(v, key)
            if found is not None:
                return found
    return None


# ---------------------------------------------------------------- summaries

def _serial_summary(rows, events) -> dict:
    on_hand = defaultdict(lambda: ZERO)
    for row, _product, bin_, wh in rows:
        on_hand[(wh.code, bin_.code)] += row.quantity
    here = [k for k, q in on_hand.items() if q > 0]
    if here:
        wh, bin_code = here[0]
        last_in = next((e for e in reversed(events)
                        if e["event"] in ("received", "returned", "moved", "adjusted")), None)
        return {"status": "in_stock", "warehouse": wh, "bin": bin_code,
                "since": last_in["at"] if last_in else None,
                "last_event": last_in["event"] if last_in else None}
    last_out = next((e for e in reversed(events) if e["event"] in OUTGOING + (
        "shipped", "delivered")), None)
    if last_out is None:
        return {"status": "unknown"}
    doc = last_out["document"]
    if last_out["event"] in ("picked", "shipped", "delivered"):
        delivered = next((e for e in events if e["event"] == "delivered"
                          and e["document"].get("id") == doc.get("id")), None)
        shipped = next((e for e in events if e["event"] == "shipped"
                        and e["document"].get("id") == doc.get("id")), None)
        return {"status": "delivered" if delivered else "shipped",
                "customer": doc.get("customer"), "order": doc.get("order"),
                "shipment": doc.get("id"),
                "tracking_number": (shipped or {}).get("document", {}).get("tracking_number"),
                "delivered_at": delivered["at"] if delivered else None}
    status = {"scrapped": "scrapped", "issued": "issued", "adjusted": "written_off"}[
        last_out["event"]]
    return {"status": status, "at": last_out["at"], "document": doc,
            "warehouse": last_out.get("warehouse"), "bin": last_out.get("bin")}


def _batch_summary(session, rows, events) -> dict:
    totals = defaultdict(lambda: ZERO)
    bins = defaultdict(lambda: ZERO)
    for row, _product, bin_, wh in rows:
        bins[(wh.code, bin_.code)] += row.quantity
        kind = _kind_of(row)
        if kind != "moved":
            totals[kind] += row.quantity
    customers: dict[str, dict] = {}
    for e in events:
        doc = e["document"]
        customer = doc.get("customer")
        if not isinstance(customer, dict) or not customer.get("code"):
            continue
        entry = customers.setdefault(customer["code"], {
            "customer": customer["code"], "name": customer.get("name"), "shipped": ZERO,
            "returned": ZERO, "shipments": []})
        if e["event"] == "picked":
            entry["shipped"] -= e["quantity"]
            entry["shipments"].append({"shipment": doc.get("id"), "order": doc.get("order"),
                                       "quantity": _qty(-e["quantity"]),
                                       "warehouse": e["warehouse"],
                                       "bin": e["bin"]})
        elif e["event"] == "returned":
            entry["returned"] += e["quantity"]
    shipped_docs = {(e["event"], e["document"].get("id")): e for e in events
                    if e["event"] in ("shipped", "delivered")}
    contacts = {c.code: c for c in session.scalars(
        select(Customer).where(Customer.code.in_(list(customers))))} if customers else {}
    for code, entry in customers.items():
        customer = contacts.get(code)
        address = (customer.shipping_address or {}) if customer else {}
        entry.update(email=customer.email if customer else None,
                     contact=address.get("contact"), phone=address.get("phone"),
                     shipped=_qty(entry["shipped"]), returned=_qty(entry["returned"]),
                     net=_qty(entry["shipped"] - entry["returned"]))
        for s in entry["shipments"]:
            shipped = shipped_docs.get(("shipped", s["shipment"]))
            delivered = shipped_docs.get(("delivered", s["shipment"]))
            s.update(tracking_number=shipped["document"].get("tracking_number")
                     if shipped else None,
                     shipped_at=shipped["at"] if shipped else None,
                     delivered_at=delivered["at"] if delivered else None)
    expiries = [row.expiry for row, *_ in rows if row.expiry is not None]
    return {
        "expiry": min(expiries) if expiries else None,
        "received": _qty(totals["received"]), "returned": _qty(totals["returned"]),
        "shipped": _qty(-totals["picked"]), "scrapped": _qty(-totals["scrapped"]),
        "issued": _qty(-totals["issued"]), "adjusted": _qty(totals["adjusted"]),
        "on_hand": _qty(sum(bins.values(), ZERO)),
        "on_hand_by_bin": [{"warehouse": wh, "bin": b, "quantity": _qty(q)}
                           for (wh, b), q in sorted(bins.items()) if q != 0],
        "customers": [_plain(customers[k]) for k in sorted(customers)],
    }


# ---------------------------------------------------------------- helpers

def _plain(value):
    """JSON-friendly: decimals as strings with the stored places, dates in ISO 8601."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _qty(value) -> Decimal:
    return (ZERO + value).quantize(QTY)
