"""Shared figure plumbing: figures without pyplot, PNG/SVG/HTML export, image widgets.

Figures are `matplotlib.figure.Figure` objects made directly (no pyplot), so they
can be drawn from any thread, need no interactive backend and are freed when
dropped. HTML export is self-contained: the figure is inlined as SVG (or a
base64 PNG) and nothing is loaded from a CDN; no JavaScript is needed.
"""
import base64
import html
import io
from pathlib import Path
from typing import Optional, Union

from matplotlib.figure import Figure

FORMATS = ("png", "svg", "html")


def new_figure(width: float = 6.0, height: float = 4.0, dpi: int = 100, *, constrained: bool = True) -> Figure:
    """A figure not tied to pyplot. constrained: matplotlib's constrained layout (neat, but
    slow to draw: figures redrawn often pass False and place their axes themselves)."""
    return Figure(figsize=(width, height), dpi=dpi, layout="constrained" if constrained else None)


def figure_png(fig: Figure, dpi: Optional[int] = None) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi)
    return buf.getvalue()


def figure_svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg"):] if "<svg" in text else text  # drop the XML prolog for inlining


def figure_html(fig: Figure, title: str = "", *, embed: str = "svg", caption: str = "") -> str:
    """A standalone HTML page showing the figure (inline SVG, or a base64 PNG with embed="png")."""
    if embed == "png":
        data = base64.b64encode(figure_png(fig)).decode("ascii")
        body = f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
    elif embed == "svg":
        body = figure_svg(fig)
    else:
        raise ValueError(f"embed = {embed!r}: use 'svg' or 'png'.")
    cap = f"<p>{html.escape(caption)}</p>" if caption else ""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title or 'figure')}</title></head>"
        f"<body style='font-family:sans-serif'><h3>{html.escape(title)}</h3>{body}{cap}</body></html>\n"
    )


def figures_html(figures, title: str = "", *, caption: str = "") -> str:
    """One standalone HTML page with several figures, each as inline SVG: [(heading, fig)]."""
    body = "".join(f"<h4>{html.escape(h)}</h4>{figure_svg(f)}" for h, f in figures)
    cap = f"<p>{html.escape(caption)}</p>" if caption else ""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title or 'figures')}</title></head>"
        f"<body style='font-family:sans-serif'><h3>{html.escape(title)}</h3>{cap}{body}</body></html>\n"
    )


def save_figure(fig: Figure, path: Union[str, Path], fmt: Optional[str] = None, *, title: str = "",
                caption: str = "") -> Path:
    """Write the figure as PNG, SVG or self-contained HTML (format from `fmt` or the suffix)."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".") or "png").lower()
    if fmt not in FORMATS:
        raise ValueError(f"Cannot export as {fmt!r}: use one of {', '.join(FORMATS)}.")
    if path.suffix.lstrip(".").lower() != fmt:
        path = path.with_suffix("." + fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "png":
        path.write_bytes(figure_png(fig))
    elif fmt == "svg":
        path.write_text(figure_svg(fig), encoding="utf8")
    else:
        path.write_text(figure_html(fig, title, caption=caption), encoding="utf8")
    return path


def image_widget(fig: Optional[Figure] = None, max_width: str = "100%"):
    """An ipywidgets.Image showing figures as PNG at their own size (shrunk to fit, never
    stretched by the box around it); update it with `show_figure`."""
    import ipywidgets as W

    img = W.Image(format="png", layout=W.Layout(max_width=max_width, align_self="flex-start", object_fit="contain"))
    if fig is not None:
        show_figure(img, fig)
    return img


def show_figure(image, fig: Figure) -> None:
    image.value = figure_png(fig)
