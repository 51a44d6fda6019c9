"""HTML pages (being written): inbox, task form, order page."""


def init_web(app):
    pass
