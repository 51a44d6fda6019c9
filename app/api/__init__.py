"""The JSON API: flask-smorest blueprints, bearer auth, JSON errors, OpenAPI at /openapi.json."""
from app.api import auth, errors
from app.extensions import api


def init_api(app):
    api.init_app(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    from app.api import (
        deployments,
        finance,
        health,
        instances,
        kpis,
        master_data,
        messages,
        mrp,
        orders,
        reports,
        stock,
        tasks,
    )
    from app.api import counting, procurement, returns, trace

    for module in (health, deployments, instances, messages, tasks, master_data, stock, orders,
                   finance, reports, kpis, mrp, procurement, returns, counting, trace):
        api.register_blueprint(module.blp)
    app.before_request(auth.authenticate)
    errors.register(app, api)
