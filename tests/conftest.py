"""Fixtures shared by every test; builders live in `tests/helpers/`."""
import pytest


@pytest.fixture(autouse=True)
def _widget_test_cleanup(request):
    """Widget tests (tests/widgets/): the Agg backend, and no widget left open after each test."""
    if ".widgets." not in request.module.__name__:
        yield
        return
    import matplotlib

    matplotlib.use("Agg")
    yield
    from ipywidgets import Widget

    Widget.close_all()
