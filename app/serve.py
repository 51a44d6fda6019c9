"""`flask serve`: gunicorn in-process (one worker, threads) plus the scheduler beside it."""
from gunicorn.app.base import BaseApplication


class _Server(BaseApplication):
    def __init__(self, app, options):
        self.application, self.options = app, options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def serve_with_scheduler(app, host: str, port: int, threads: int) -> None:
    from app.scheduler import start_background

    def post_worker_init(worker):
        start_background(app)  # in the worker process, where requests are served

    _Server(app, {"bind": f"{host}:{port}", "workers": 1, "threads": threads,
                  "worker_class": "gthread", "post_worker_init": post_worker_init,
                  "accesslog": "-", "timeout": 60}).run()
