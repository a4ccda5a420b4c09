"""ConfigEditor: edit a config as a tree of sections (or as raw text), checked live.

    editor = ConfigEditor("sample_data/configs/shared.cfg")   # or config text, a Config, a Pipeline
    editor                                                     # show it in a notebook
    editor.set_value("training", "dropout", "0.2")            # what typing in the field does
    editor.issues                                              # [Issue(section, key, message), ...]
    editor.save("my.cfg")                                     # never sample_data/ by default
    editor.train("training/edited")                           # the dashboard, on this config

Every value is a Text field holding config text (`"pos"`, `96`, `${a.b}`); an
`@registry` key (and a component's `factory`) is a Dropdown of the registered
names that fit the slot (an embed slot lists embedding layers, not listeners:
`config_tree.slot_names`), and its section shows that function's arguments with types and defaults.
Problems appear beside the key they are about, in the engine's words: each is one
of `ConfigError.issues` (section, key, message, kind), so whatever the engine
checks (types, missing values, unknown keys, ranges) shows here
(`widgets.converters.config_check`).
"""
import html
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import ipywidgets as W
from confection import Config

from workbench.config import fill_config, load_config
from workbench.errors import ConfigError

from .converters.config_check import ERROR, MISSING, Issue, check_config, check_text
from .converters.config_tree import (
    Row,
    config_diff,
    config_rows,
    config_text,
    function_args,
    function_doc,
    get_block,
    registered_names,
    sections,
    set_value,
    slot_names,
    text_to_value,
    to_config,
)

TREE, TEXT = "tree", "text"
SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"  # the shipped examples: never overwritten by default
_RED, _GREY, _GREEN = "#b3261e", "#6b6b6b", "#1b7a33"


def issue_html(issues: List[Issue]) -> str:
    parts = []
    for i in issues:
        color = _RED if i.level == ERROR else _GREY
        mark = "&#9888; " if i.level == ERROR else ""
        kind = (f' <span style="color:{_GREY};font-size:85%">({html.escape(i.kind)})</span>'
                if i.level == ERROR and i.kind not in ("", "invalid") else "")
        parts.append(f'<span style="color:{color}">{mark}{html.escape(i.message)}</span>{kind}')
    return "<br>".join(parts)


def args_html(registry_name: str, func_name: str, block: Dict[str, Any]) -> str:
    """A table of a registered function's arguments: type, default, and whether the block sets it."""
    try:
        args = function_args(registry_name, func_name)
        doc = function_doc(registry_name, func_name)
    except ConfigError as e:
        return f'<span style="color:{_RED}">{html.escape(str(e))}</span>'
    rows = []
    for a in args:
        if a.name in block:
            state = "set"
        elif a.required:
            state = f'<b style="color:{_RED}">required</b>'
        else:
            state = f'<span style="color:{_GREY}">default</span>'
        rows.append(f"<tr><td><code>{html.escape(a.name)}</code></td><td>{html.escape(a.type)}</td>"
                    f"<td><code>{html.escape(a.default)}</code></td><td>{state}</td></tr>")
    head = f"<div style='color:{_GREY}'>{html.escape(func_name)}: {html.escape(doc)}</div>" if doc else ""
    return (f"{head}<table style='font-size:90%'><tr><th>argument</th><th>type</th><th>default</th><th></th></tr>"
            + "".join(rows) + "</table>")


class _Field:
    """The widgets of one key: label, input (Text or Dropdown) and message."""

    def __init__(self, editor: "ConfigEditor", row: Row):
        self.row = row
        self.label = W.Label(row.key, layout=W.Layout(width="190px"))
        if row.registry:
            current = text_to_value(row.text)[0]
            names = (registered_names(row.registry) if row.registry == "factories"
                     else slot_names(editor.config, row.section, row.registry))
            if current not in names:
                names = [current] + names  # keep an unknown name visible; its error shows beside it
            self.input: W.ValueWidget = W.Dropdown(options=names, value=current, layout=W.Layout(width="340px"))
        else:
            self.input = W.Text(value=row.text, continuous_update=False, layout=W.Layout(width="340px"))
        self.message = W.HTML(layout=W.Layout(margin="0 0 0 8px"))
        self.box = W.HBox([self.label, self.input, self.message])
        self.input.observe(lambda change: editor._on_field(self, change["new"]), names="value")

    @property
    def text(self) -> str:
        if isinstance(self.input, W.Dropdown):
            import json

            return json.dumps(self.input.value)
        return self.input.value


class ConfigEditor(W.VBox):
    """Tree and raw-text editor for a config, validated against the registries on every change.

    source: a path, config text, a Config (or dict) or a live Pipeline (its config).
    path: the file that "diff" compares with and "save" writes to (default: the file opened).
    """

    def __init__(self, source: Any, *, path: Optional[Union[str, Path]] = None):
        super().__init__()
        self.add_class("wb-config-editor")
        config, opened = to_config(source)
        self.path: Optional[Path] = Path(path) if path else opened
        self.original_text = config_text(config)  # what "diff" compares with
        self.config: Config = config
        self.issues: List[Issue] = []
        self.fields: Dict[Tuple[str, str], _Field] = {}
        self._section_boxes: Dict[str, W.VBox] = {}
        self._args_boxes: Dict[str, W.HTML] = {}

        self.mode = W.ToggleButtons(options=[TREE, TEXT], value=TREE, description="edit as")
        self.tree = W.Accordion()
        self.raw = W.Textarea(continuous_update=False, layout=W.Layout(width="100%", height="420px"))
        self.raw_messages = W.HTML()
        self.status = W.HTML()
        self.fill_button = W.Button(description="fill defaults", icon="magic")
        self.diff_button = W.Button(description="diff vs file", icon="columns")
        self.save_button = W.Button(description="save", icon="save")
        self.save_path = W.Text(value=str(default_save_path(self.path)), description="file",
                                layout=W.Layout(width="420px"))
        self.train_button = W.Button(description="train this config", icon="play", button_style="success",
                                     layout=W.Layout(width="170px"))
        self.runs_path = W.Text(value="training/editor", description="runs in", layout=W.Layout(width="300px"))
        self.dashboard = None
        self.train_box = W.VBox()
        self.diff_view = W.HTML()
        self.body = W.VBox([self.tree])

        self.mode.observe(self._on_mode, names="value")
        self.raw.observe(lambda ch: self.set_text(ch["new"]), names="value")
        self.fill_button.on_click(lambda _: self.fill_defaults())
        self.diff_button.on_click(lambda _: self.show_diff())
        self.save_button.on_click(lambda _: self._save_clicked())
        self.train_button.on_click(lambda _: self._train_clicked())
        self.children = [
            W.HBox([self.mode, self.fill_button, self.diff_button]),
            self.status,
            self.body,
            W.HBox([self.save_path, self.save_button]),
            W.HBox([self.train_button, self.runs_path]),
            self.diff_view,
            self.train_box,
        ]
        self._rebuild()

    # ------------------------------------------------------------ public API

    @property
    def text(self) -> str:
        return config_text(self.config)

    @property
    def errors(self) -> List[Issue]:
        return [i for i in self.issues if i.level == ERROR]

    def field(self, section: str, key: str) -> W.ValueWidget:
        """The input widget of [section] key."""
        return self.fields[(section, key)].input

    def message(self, section: str, key: Optional[str]) -> str:
        """The problems shown beside [section] key, as plain text ('' when none)."""
        return "\n".join(i.message for i in self.issues if i.section == section and i.key == key)

    def set_value(self, section: str, key: str, text: str) -> None:
        """Set [section] key from config text, as typing into its field does."""
        f = self.fields.get((section, key))
        if f is not None:
            if isinstance(f.input, W.Dropdown):
                value = text_to_value(text)[0]
                if value not in f.input.options:
                    f.input.options = [value] + list(f.input.options)
                f.input.value = value
            else:
                f.input.value = text  # the observer applies it
            return
        value, warning = text_to_value(text)
        self.config = set_value(self.config, section, key, value)
        self._rebuild()

    def set_text(self, text: str) -> None:
        """Replace the whole config from raw text (what the text mode does)."""
        if self.raw.value != text:
            self.raw.value = text  # the observer comes back here
            return
        config, issues = check_text(text)
        if config is not None:
            self.config = config
        self.issues = issues
        self.raw_messages.value = self._raw_issue_html(issues)
        self._update_status(parsed=config is not None)

    def fill_defaults(self) -> bool:
        """Add every default (fill_config); False, with the reason in the status, if it cannot."""
        try:
            self.config = fill_config(self.config)
        except ConfigError as e:
            self.status.value = f'<span style="color:{_RED}">Cannot fill defaults while the config has errors: {html.escape(str(e))}</span>'
            return False
        self._rebuild()
        return True

    def diff(self) -> str:
        """Unified diff from the file (or the config first opened) to the editor's config."""
        old = self.original_text
        if self.path is not None and self.path.exists():
            old = config_text(load_config(self.path))
        return config_diff(old, self.text, old_name=str(self.path or "opened"), new_name="editor")

    def show_diff(self) -> str:
        text = self.diff()
        lines = []
        for ln in text.splitlines():
            color = _GREEN if ln.startswith("+") else _RED if ln.startswith("-") else "inherit"
            lines.append(f'<span style="color:{color}">{html.escape(ln)}</span>')
        self.diff_view.value = ("<pre style='font-size:85%'>" + "\n".join(lines) + "</pre>") if lines else "<i>no changes</i>"
        return text

    def save(self, path: Optional[Union[str, Path]] = None, *, overwrite_sample: bool = False) -> Path:
        """Write the config text; the file becomes the one diffs compare with. A file of
        sample_data/ is only overwritten with overwrite_sample=True."""
        path = Path(path or self.save_path.value)
        if path.exists() and _inside(path, SAMPLE_DATA) and not overwrite_sample:
            raise FileExistsError(f"{path} is one of the shipped sample configs: save under another name "
                                  f"(e.g. {default_save_path(path)}), or pass overwrite_sample=True.")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text, encoding="utf8")
        self.path = path
        self.save_path.value = str(path)
        return path

    # ------------------------------------------------------------ building

    def _rebuild(self) -> None:
        """(Re)draw the tree from self.config and check it."""
        old_index = self.tree.selected_index
        self.fields, self._section_boxes, self._args_boxes = {}, {}, {}
        rows = config_rows(self.config)
        by_section: Dict[str, List[Row]] = {}
        for row in rows:
            by_section.setdefault(row.section, []).append(row)
        tops = [s for s in sections(self.config) if "." not in s]
        pages, titles = [], []
        for top in tops:
            blocks = []
            for section in [top] + [s for s in sections(self.config) if s.startswith(top + ".")]:
                blocks.append(self._section_box(section, by_section.get(section, [])))
            pages.append(W.VBox(blocks))
            titles.append(f"[{top}]")
        self.tree.children = pages
        for i, title in enumerate(titles):
            self.tree.set_title(i, title)
        if old_index is not None and old_index < len(pages):
            self.tree.selected_index = old_index
        self._check()

    def _section_box(self, section: str, rows: List[Row]) -> W.VBox:
        header = W.HTML(f"<b>[{html.escape(section)}]</b>")
        missing = W.HTML()
        items: List[W.Widget] = [header]
        for row in rows:
            f = _Field(self, row)
            self.fields[(section, row.key)] = f
            items.append(f.box)
        args = W.HTML(layout=W.Layout(margin="2px 0 6px 198px"))
        self._args_boxes[section] = args
        items += [missing, args]
        box = W.VBox(items, layout=W.Layout(margin="0 0 8px 0"))
        box.missing = missing  # type: ignore[attr-defined]
        self._section_boxes[section] = box
        self._update_args(section)
        return box

    def _update_args(self, section: str) -> None:
        box = self._args_boxes.get(section)
        if box is None:
            return
        block = get_block(self.config, section)
        ref = next(((k[1:], v) for k, v in block.items() if isinstance(k, str) and k.startswith("@")), None)
        if ref is None and "factory" in block and section.count(".") == 1 and section.startswith("components."):
            ref = ("factories", block["factory"])
        box.value = args_html(ref[0], str(ref[1]), block) if ref else ""

    # ------------------------------------------------------------ events

    def _on_field(self, f: _Field, new: Any) -> None:
        section, key = f.row.section, f.row.key
        value, warning = (new, None) if isinstance(f.input, W.Dropdown) else text_to_value(new)
        self.config = set_value(self.config, section, key, value)
        self._check(extra=[Issue(section, key, warning)] if warning else [])
        if f.row.registry:
            self._update_args(section)

    def _on_mode(self, change) -> None:
        if change["new"] == TEXT:
            self.raw.value = self.text
            self.raw_messages.value = self._raw_issue_html(self.issues)
            self.body.children = [self.raw, self.raw_messages]
        else:
            self._rebuild()
            self.body.children = [self.tree]

    def train(self, runs_path: Optional[Union[str, Path]] = None, **dashboard_args):
        """Open a TrainingDashboard on the editor's config (defaults filled in) under the
        editor; it trains into a new run folder of `runs_path` when started."""
        from .dashboard import TrainingDashboard

        if self.errors:
            raise ConfigError(f"The config has {len(self.errors)} problem(s): fix them before training "
                              f"(first: {self.errors[0].where}: {self.errors[0].message}).")
        config = fill_config(self.config)
        self.dashboard = TrainingDashboard(config, Path(runs_path or self.runs_path.value), **dashboard_args)
        self.train_box.children = [W.HTML("<b>Training this config</b> (defaults filled in; press train):"),
                                   self.dashboard]
        return self.dashboard

    def _train_clicked(self) -> None:
        try:
            self.train()
        except Exception as e:  # shown: exceptions in callbacks are only logged
            self.status.value = f'<span style="color:{_RED}">Cannot train: {html.escape(str(e))}</span>'

    def _save_clicked(self) -> None:
        try:
            path = self.save(None)
        except FileExistsError as e:
            self.status.value = f'<span style="color:{_RED}">{html.escape(str(e))}</span>'
            return
        problems = f" ({len(self.errors)} problem(s) left)" if self.errors else ""
        self.status.value = f'<span style="color:{_GREEN}">Saved {html.escape(str(path))}{problems}</span>'

    # ------------------------------------------------------------ checking

    def _check(self, extra: List[Issue] = ()) -> None:
        self.issues = list(extra) + check_config(self.config)
        by_key: Dict[Tuple[str, Optional[str]], List[Issue]] = {}
        for issue in self.issues:
            by_key.setdefault((issue.section, issue.key), []).append(issue)
        for (section, key), f in self.fields.items():
            f.message.value = issue_html(by_key.get((section, key), []))
        for section, box in self._section_boxes.items():
            here = [i for i in self.issues if i.section == section and (i.key is None or (section, i.key) not in self.fields)]
            box.missing.value = "<br>".join(
                f'<span style="color:{_RED if i.level == ERROR else _GREY}">'
                f'{html.escape(i.key or "")}{": " if i.key else ""}{html.escape(i.message)}</span>' for i in here
            )
            self._update_args(section)
        self._update_status(parsed=True)

    def _update_status(self, parsed: bool) -> None:
        errors = self.errors
        missing = [i for i in self.issues if i.level == MISSING]
        if errors:
            listed = "".join(f"<li>{html.escape(i.where)}: {html.escape(i.message)}</li>" for i in errors[:8])
            self.status.value = f'<span style="color:{_RED}">{len(errors)} problem(s):</span><ul>{listed}</ul>'
        elif missing:
            sections_missing = sorted({i.section for i in missing if (i.section not in self._section_boxes)})
            extra = f" (also whole sections: {', '.join(sections_missing)})" if sections_missing else ""
            self.status.value = (f'<span style="color:{_GREY}">Valid. {len(missing)} value(s) are not written; '
                                 f'"fill defaults" adds them{html.escape(extra)}.</span>')
        else:
            self.status.value = f'<span style="color:{_GREEN}">Valid and complete.</span>'

    @staticmethod
    def _raw_issue_html(issues: List[Issue]) -> str:
        errors = [i for i in issues if i.level == ERROR]
        if not errors:
            return ""
        items = "".join(
            f"<li>{'line ' + str(i.line) + ', ' if i.line else ''}{html.escape(i.where)}: {html.escape(i.message)}</li>"
            for i in errors
        )
        return f'<ul style="color:{_RED}">{items}</ul>'


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def default_save_path(opened: Optional[Path]) -> Path:
    """Where "save" writes unless told: the file opened, except a shipped sample config,
    whose edited copy goes to the working folder (shared.cfg -> ./shared_edited.cfg)."""
    if opened is None:
        return Path("config.cfg")
    if _inside(opened, SAMPLE_DATA):
        return Path.cwd() / f"{opened.stem}_edited{opened.suffix or '.cfg'}"
    return opened
