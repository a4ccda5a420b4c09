"""The notebook layer: ipywidgets and matplotlib views of the workbench.

Each view has three parts (DESIGN.md, principle 7):
- converters (`widgets.converters.*`): engine objects -> plain data, testable without a notebook;
- renderers (`draw_*` / `*_figure` / `render_*` functions): that data -> matplotlib figures or
  HTML, exported as PNG, SVG or self-contained HTML (no CDN, no JavaScript);
- a thin ipywidgets class that adds the controls.

    from widgets import (CatsView, ConfigEditor, DepsView, DocView, PipelineLayout, PretrainingPanel,
                         RunsView, SweepView, TrainingDashboard, TrfInspector, TryText)
"""
from .cats_view import CatsView, cats_figure
from .config_editor import ConfigEditor
from .dashboard import TrainingDashboard
from .deps_view import DepsView, render_arcs
from .doc_view import DocView, TryText, render_doc
from .layout import PipelineLayout
from .pretraining_panel import PretrainingPanel
from .progress import ProgressBar, track
from .runs_view import RunsView
from .sweep_view import SweepView
from .trf_inspector import TrfInspector

__all__ = ["CatsView", "ConfigEditor", "DepsView", "DocView", "PipelineLayout", "PretrainingPanel", "ProgressBar",
           "RunsView", "SweepView", "TrainingDashboard", "TrfInspector", "TryText", "cats_figure", "render_arcs",
           "render_doc", "track"]
