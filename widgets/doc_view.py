"""displaCy-style results: a doc's spans highlighted in its running text, tags under tokens.

    html = render_doc(doc)                       # HTML (inline styles only: no JavaScript, no CDN)
    render_doc(doc, spans=[(0, 2, "ORG"), (1, 2, "GPE")])  # overlapping spans: one bar level each
    save_doc_html([doc1, doc2], "preds.html")    # a standalone page
    DocView(doc)                                 # the same in a notebook
    TryText(nlp)                                 # type (or upload) a text, see the pipeline's result

Each token is a small column: its text (tinted with the colour of the outermost span
it is in), one bar per span level (the label written on the span's first token) and
its tags. Columns wrap like words, so long docs and spans that cross a line end
read naturally. `extra_rows` takes SVG/HTML fragments drawn under the text (the hook
for dependency arcs, `widgets.deps_view.render_arcs`, and the cats chart).
"""
import html
from pathlib import Path
from typing import Any, Iterable, List, Optional, Sequence, Union

import ipywidgets as W

from .converters.doc_marks import Cell, Mark, doc_marks, tag_rows

FONT = "font-family: -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
GAP = "0.32em"  # the width of a space between tokens


def _tint(color: str) -> str:
    return color + "66"  # the span colour at 40 % opacity: text stays readable on it


def _token_html(cell: Cell, marks: List[Mark], n_levels: int) -> str:
    inside = [m for m in marks if m.start <= cell.i < m.end]
    outer = min(inside, key=lambda m: m.level) if inside else None
    gap = GAP if cell.space else "0"
    text_bg = f"background:{_tint(outer.color)};" if outer else ""
    # the tint joins the next token when both are in the same outermost span
    joins = outer is not None and cell.i + 1 < outer.end
    text = (f'<div style="padding:1px 0 1px 0;{text_bg}margin-right:{"0" if joins else gap};'
            f'padding-right:{gap if joins else "0"};font-size:15px;line-height:1.5;white-space:pre-wrap;'
            f'word-break:break-word">{html.escape(cell.text)}</div>')
    bars = []
    for level in range(n_levels):
        m = next((m for m in inside if m.level == level), None)
        if m is None:
            bars.append('<div style="height:15px"></div>')
            continue
        cont = cell.i + 1 < m.end
        label = (f'<span style="font-size:10.5px;font-weight:bold;color:#222;padding:0 3px;white-space:nowrap;'
                 f'letter-spacing:0.02em">{html.escape(m.label)}</span>' if m.start == cell.i else "")
        radius = f"border-radius:{'3px' if m.start == cell.i else '0'} {'0' if cont else '3px'} " \
                 f"{'0' if cont else '3px'} {'3px' if m.start == cell.i else '0'};"
        bars.append(f'<div title="{html.escape(m.label)} [{m.start}:{m.end}]" style="height:15px;line-height:15px;'
                    f'background:{m.color};margin:1px {"0" if cont else gap} 0 0;{radius}overflow:visible">'
                    f'{label}</div>')
    tags = " \u00b7 ".join(html.escape(v) for _, v in cell.tags if v)
    tag_row = (f'<div style="font-size:11px;color:#555;padding-top:1px;margin-right:{gap};white-space:nowrap">'
               f'{tags or "&nbsp;"}</div>') if cell.tags else ""
    starts = [m for m in inside if m.start == cell.i and m.end == cell.i + 1]
    min_width = f"min-width:{max(len(m.label) for m in starts) * 0.62 + 0.6:.1f}em;" if starts else ""
    return (f'<div style="display:inline-block;vertical-align:top;margin-bottom:10px;{min_width}">'
            f'{text}{"".join(bars)}{tag_row}</div>')


def render_doc(doc: Any, *, spans: Optional[Iterable[Any]] = None, tags: Sequence[str] = ("pos", "tag"),
               extra_rows: Sequence[str] = (), max_tokens: Optional[int] = None, title: str = "") -> str:
    """The doc as an HTML fragment. spans: (start, end, label) or Span objects (default
    doc.ents; they may overlap); tags: token attributes shown under the tokens;
    extra_rows: SVG/HTML fragments drawn under the text (e.g. dependency arcs);
    max_tokens: show only the first N tokens, saying how many are left out."""
    cells, marks = doc_marks(doc, spans, tags)
    cut = len(cells) if max_tokens is None else max(0, max_tokens)
    shown = cells[:cut]
    n_levels = 1 + max((m.level for m in marks if m.start < cut), default=-1)
    body = "".join(_token_html(c, marks, n_levels) for c in shown)
    more = (f'<div style="color:#666;font-size:12px">\u2026 {len(cells) - cut} more tokens '
            f'(max_tokens={max_tokens})</div>') if cut < len(cells) else ""
    legend = ""
    labels = sorted({m.label: m.color for m in marks}.items())
    if labels:
        legend = '<div style="font-size:12px;color:#444;margin-bottom:6px">' + " ".join(
            f'<span style="background:{c};padding:0 5px;border-radius:3px;margin-right:4px">{html.escape(lab)}</span>'
            for lab, c in labels) + "</div>"
    head = f'<div style="font-weight:bold;font-size:14px;margin-bottom:4px">{html.escape(title)}</div>' if title else ""
    rows = "".join(f'<div class="wb-doc-extra" style="overflow-x:auto;max-width:100%">{row}</div>'
                   for row in extra_rows)
    return (f'<div class="wb-doc" style="{FONT};color:#111;max-width:100%;padding:6px 2px;line-height:normal">'
            f'{head}{legend}<div style="white-space:normal">{body}</div>{more}{rows}</div>')


def render_docs(docs: Iterable[Any], **kwargs) -> str:
    """Several docs, one block each, separated by a rule."""
    return '<hr style="border:none;border-top:1px solid #ddd">'.join(render_doc(d, **kwargs) for d in docs)


def doc_page(docs: Union[Any, Iterable[Any]], title: str = "predictions", **kwargs) -> str:
    """A standalone HTML page (inline styles, no scripts) of one doc or several."""
    docs = [docs] if hasattr(docs, "ents") else list(docs)
    return ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title></head><body style='max-width:960px;margin:1em auto'>"
            f"{render_docs(docs, **kwargs)}</body></html>\n")


def save_doc_html(docs: Union[Any, Iterable[Any]], path: Union[str, Path], title: str = "predictions",
                  **kwargs) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc_page(docs, title, **kwargs), encoding="utf8")
    return path


def tag_table_html(doc: Any, spans: Optional[Iterable[Any]] = None) -> str:
    """The tokens as a table: i, text, pos, tag, spans (B-/I- label)."""
    rows = tag_rows(doc, spans)
    cols = [c for c in ("i", "text", "pos", "tag", "spans") if any(str(r[c]) for r in rows) or c in ("i", "text")]
    head = "".join(f"<th style='text-align:left;padding:1px 8px'>{c}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td style='padding:1px 8px'>{html.escape(str(r[c]))}</td>" for c in cols)
                   + "</tr>" for r in rows)
    return f"<table style='font-size:13px;border-collapse:collapse'><tr>{head}</tr>{body}</table>"


class DocView(W.HTML):
    """`render_doc` as a widget (the same arguments)."""

    def __init__(self, doc: Any, **kwargs):
        super().__init__(render_doc(doc, **kwargs))
        self.add_class("wb-doc-view")


class TryText(W.VBox):
    """Type a text (or upload a .txt file), run the pipeline on it, see the result.

    Shows the rendering (with dependency arcs when the pipeline parses, and a bar chart
    of doc.cats when it classifies), a tag table and, for a pipeline with a transformer,
    a button that opens the TrfInspector on that doc.
    """

    def __init__(self, nlp: Any, text: str = "", *, tags: Sequence[str] = ("pos", "tag")):
        super().__init__()
        self.add_class("wb-try-text")
        self.nlp, self.tags = nlp, tags
        self.doc: Optional[Any] = None
        self.text = W.Textarea(value=text, placeholder="Type a sentence or paste a paragraph\u2026",
                               layout=W.Layout(width="100%", height="90px"))
        self.upload = W.FileUpload(accept=".txt,text/plain", multiple=False, description="text file")
        self.run_button = W.Button(description="run", icon="play", button_style="primary")
        self.show_table = W.ToggleButton(value=False, description="tag table", icon="table")
        self.inspect_button = W.Button(description="inspect in TrfInspector", icon="search",
                                       layout=W.Layout(display="inline-flex" if self.has_transformer else "none"))
        self.view = W.HTML()
        self.view.add_class("wb-try-view")
        self.table = W.HTML()
        self.status = W.HTML()
        self.inspector_box = W.VBox()
        self.run_button.on_click(lambda _: self.run())
        self.upload.observe(self._on_upload, names="value")
        self.show_table.observe(lambda _: self._show_table(), names="value")
        self.inspect_button.on_click(lambda _: self.inspect())
        self.children = [self.text, W.HBox([self.run_button, self.upload, self.show_table, self.inspect_button]),
                         self.status, self.view, self.table, self.inspector_box]
        if text:
            self.run()

    @property
    def has_transformer(self) -> bool:
        return any(getattr(p, "upstream_kind", None) == "transformer" for _, p in self.nlp.components)

    def run(self, text: Optional[str] = None) -> Any:
        """Run the pipeline on the text (the box's, or the one given) and show it."""
        if text is not None:
            self.text.value = text
        words = self.text.value.strip()
        if not words:
            self.status.value = "<span style='color:#666'>Type a text first.</span>"
            return None
        try:
            self.doc = self.nlp(self.text.value)
        except Exception as e:  # shown, not raised: the box is for trying things
            self.status.value = f"<span style='color:#b3261e'>{html.escape(type(e).__name__)}: {html.escape(str(e))}</span>"
            return None
        n_ents = len(self.doc.ents)
        self.status.value = f"{len(self.doc)} tokens, {n_ents} entit{'y' if n_ents == 1 else 'ies'}"
        self.view.value = render_doc(self.doc, tags=self.tags, extra_rows=self._extra_rows())
        self._show_table()
        self.inspector_box.children = []
        return self.doc

    def _extra_rows(self) -> List[str]:
        """Dependency arcs when the doc has a parse, the cats chart when it has categories."""
        from .cats_view import cats_svg
        from .deps_view import render_arcs

        return render_arcs(self.doc) + ([cats_svg(self.doc)] if self.doc.cats else [])

    def _show_table(self) -> None:
        self.table.value = tag_table_html(self.doc) if self.show_table.value and self.doc is not None else ""

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        content = item["content"]
        data = content.tobytes() if hasattr(content, "tobytes") else bytes(content)
        try:
            self.text.value = data.decode("utf8")
        except UnicodeDecodeError:
            self.status.value = (f"<span style='color:#b3261e'>{html.escape(item.get('name', 'the file'))} is not "
                                 f"UTF-8 text: save it as UTF-8 and upload it again.</span>")
            return
        self.run()

    def inspect(self):
        """Open the TrfInspector on the current doc (a transformer pipeline only)."""
        from .trf_inspector import TrfInspector

        if self.doc is None:
            self.run()
        if self.doc is None or not self.doc.has_extension("trf_data") or self.doc._.trf_data is None:
            self.status.value = "<span style='color:#666'>This pipeline has no transformer output to inspect.</span>"
            return None
        inspector = TrfInspector(self.doc)
        self.inspector_box.children = [inspector]
        return inspector
