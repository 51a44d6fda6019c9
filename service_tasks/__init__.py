"""Operators the diagrams call from service tasks, registered with ``@operator("name")``.

Each module wraps ``app.domain`` functions; importing this package registers them all.
"""
from service_tasks import finance, inventory, orders, shipping, utility  # noqa: F401
from service_tasks import manufacturing  # noqa: F401
from service_tasks import counting  # noqa: F401
from service_tasks import returns  # noqa: F401
from service_tasks import production, purchasing, supply  # noqa: F401
