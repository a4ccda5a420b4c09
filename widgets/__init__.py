"""The notebook layer: ipywidgets and matplotlib views of the workbench.

Each view has three parts (DESIGN.md, principle 7):
- converters (`widgets.converters.*`): engine objects -> plain data, testable without a notebook;
- renderers (`draw_*` / `*_figure` functions): that data -> matplotlib figures, exported
  with `widgets.render` as PNG, SVG or self-contained HTML;
- a thin ipywidgets class that adds the controls.

    from widgets import ConfigEditor, PipelineLayout, PretrainingPanel, TrainingDashboard, TrfInspector
"""
from .config_editor import ConfigEditor
from .dashboard import TrainingDashboard
from .layout import PipelineLayout
from .pretraining_panel import PretrainingPanel
from .trf_inspector import TrfInspector

__all__ = ["ConfigEditor", "PipelineLayout", "PretrainingPanel", "TrainingDashboard", "TrfInspector"]
