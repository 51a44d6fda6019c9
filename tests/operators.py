"""Service operators the test diagrams call (registered like service_tasks/ does)."""
import pytest

from app.engine.operators import BusinessError, operator

STOCK = {"available": 10}
FLAKY = {"failing": False, "calls": 0}


@operator("test.compute_total")
def compute_total(ctx, items):
    return sum(items)


@operator("test.reserve", errors=("out_of_stock",))
def reserve(ctx, qty):
    if qty > STOCK["available"]:
        raise BusinessError("out_of_stock", f"only {STOCK['available']} left",
                            {"short": qty - STOCK["available"]})
    return {"reserved": qty}


@operator("test.flaky")
def flaky(ctx, key):
    FLAKY["calls"] += 1
    if FLAKY["failing"]:
        raise ConnectionError(f"upstream unavailable for {key}")
    return {"ok": True, "key": key, "instance": ctx.instance_id}


@pytest.fixture(autouse=True)
def reset_test_operators():
    STOCK["available"] = 10
    FLAKY.update(failing=False, calls=0)
    SLOW.update(calls=[], delay=0.0)
    ASK.update(fail_after_asking=False)
    yield


SLOW = {"calls": [], "delay": 0.0}


@operator("test.slow_record")
def slow_record(ctx, label):
    """Holds the unit open a moment so two units of one instance overlap."""
    import time

    SLOW["calls"].append(label)
    time.sleep(SLOW["delay"])
    return label


ASK = {"fail_after_asking": False}


@operator("test.start_and_pay")
def start_and_pay(ctx, key, amount):
    """Asks for another instance and a message to it; both happen only if this unit commits."""
    started = ctx.start_process("message_wait", business_key=key, data={"origin": ctx.instance_id})
    sent = ctx.send_message("payment_received", business_key=key, payload={"amount": amount},
                            message_id=f"pay:{key}")
    if ASK["fail_after_asking"]:
        raise ConnectionError("failed after asking")
    return {"started": started, "sent": sent}
