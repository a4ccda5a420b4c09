"""What each CLI command does; `cli.py` only parses arguments."""
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional

import srsly
from confection import Config

from .config import fill_config, load_config
from .errors import ConfigError, WorkbenchError
from .pipeline.defaults import default_block, default_model

LISTENER_BLOCK = {"@architectures": "workbench.Tok2VecListener.v1", "width": "${components.tok2vec.model.encode.width}", "upstream": "*"}
KNOWN_COMPONENTS = ("tagger", "parser", "ner", "textcat", "textcat_multilabel")
OPTIMIZE = {"efficiency": "tok2vec", "accuracy": "tok2vec_accuracy"}  # preset -> default_configs/NAME.cfg


def _write(text: str, output: str) -> None:
    if output == "-":
        sys.stdout.write(text)
    else:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text, encoding="utf8")
        print(f"Wrote {output}", file=sys.stderr)


def build_init_config(pipeline: List[str], *, shared: bool = True, optimize: str = "efficiency") -> Config:
    """A complete training config for any of KNOWN_COMPONENTS, shared or independent.

    optimize: "efficiency" (the default tok2vec) or "accuracy" (default_configs/tok2vec_accuracy.cfg:
    character embeddings with affixes, an n-gram bag and word dropout, width 192, and the [training]
    settings written beside them:
    10 epochs, a learn rate that decays to the end of the run; see the README for what it buys).
    """
    import copy

    for name in pipeline:
        if name not in KNOWN_COMPONENTS and not (name == "transformer" and pipeline[0] == name):
            raise ConfigError(f"init config: unknown component '{name}'. Choose from {', '.join(KNOWN_COMPONENTS)}, "
                              f"after 'transformer' to share one (e.g. transformer,tagger,ner).")
    if optimize not in OPTIMIZE:
        raise ConfigError(f"init config: --optimize is '{optimize}'. Choose from {', '.join(OPTIMIZE)}.")
    if pipeline and pipeline[0] == "transformer":
        from .pipeline.transformer_init import transformer_init_config

        if not shared:
            raise ConfigError("init config: a transformer is always shared by its listeners; leave out --independent.")
        return transformer_init_config(list(pipeline[1:]))
    tok2vec_model = OPTIMIZE[optimize]
    components: Dict[str, Any] = {}
    names = (["tok2vec"] if shared else []) + list(pipeline)
    if shared:
        components["tok2vec"] = {"factory": "tok2vec", "model": default_model(tok2vec_model)}
    for name in pipeline:
        tok2vec = copy.deepcopy(LISTENER_BLOCK) if shared else default_model(tok2vec_model)
        if name == "tagger":
            model = {"@architectures": "workbench.Tagger.v1", "nO": None, "tok2vec": tok2vec}
        elif name == "parser":
            size = default_model("parser")  # the factory's width: default_configs/parser.cfg
            model = {"@architectures": "workbench.TransitionBasedParser.v1", "state_type": "parser",
                     "hidden_width": size["hidden_width"], "maxout_pieces": size["maxout_pieces"], "tok2vec": tok2vec}
        elif name.startswith("textcat"):
            model = {**default_model(name), "tok2vec": tok2vec}
        else:
            model = {"@architectures": "workbench.TransitionBasedParser.v1", "state_type": "ner", "tok2vec": tok2vec}
        components[name] = {"factory": name, "model": model, **default_block(tok2vec_model, "components").get(name, {})}
    sections = {"nlp": {"lang": "en", "pipeline": names}, "components": components}
    training = default_block(tok2vec_model, "training")
    if training:
        sections["training"] = training
    return fill_config(Config(sections, is_interpolated=False))


def init_config(output: str, pipeline: List[str], *, shared: bool = True, optimize: str = "efficiency") -> int:
    _write(build_init_config([p.strip() for p in pipeline if p.strip()], shared=shared, optimize=optimize).to_str(), output)
    return 0


def fill_config_file(input_path: str, output: str, overrides: Dict[str, Any], *, pretraining: bool = False) -> int:
    config = load_config(input_path, overrides)
    if pretraining:
        from .pretraining.loop import fill_pretraining_config

        _write(fill_pretraining_config(config).to_str(), output)
    else:
        _write(fill_config(config).to_str(), output)
    return 0


def debug_config(path: str, overrides: Dict[str, Any]) -> int:
    """Check the config as `train` would before reading data, building the pipeline
    (no weights, no data: see workbench.preflight); then print the filled config,
    marking each value as written or default."""
    from .pipeline.language import Pipeline
    from .preflight import check_pipeline

    written = load_config(path, overrides)
    filled = fill_config(written)
    check_pipeline(Pipeline.from_config(filled))
    for line in provenance_lines(filled, written):
        print(line)
    return 0


def provenance_lines(filled: Dict[str, Any], written: Dict[str, Any], path=()) -> List[str]:
    lines: List[str] = []
    leaves = [(k, v) for k, v in filled.items() if not isinstance(v, dict) or not v]
    blocks = [(k, v) for k, v in filled.items() if isinstance(v, dict) and v]
    if path and leaves:
        lines.append(f"[{'.'.join(path)}]")
    for key, value in leaves:
        origin = "written" if isinstance(written, dict) and key in written else "default"
        shown = srsly.json_dumps(value) if not isinstance(value, str) or not value.startswith("${") else value
        lines.append(f"  {key} = {shown}    # {origin}")
    for key, value in blocks:
        sub = written.get(key, {}) if isinstance(written, dict) else {}
        lines.extend(provenance_lines(value, sub if isinstance(sub, dict) else {}, path + (key,)))
    return lines


def debug_data(files: List[str], *, n_sents: int = 1, merge: bool = False) -> int:
    from .corpora.debug_data import debug_data as run_debug

    report = run_debug(files, n_sents=n_sents, merge=merge)
    print(report.format())
    return 0 if report.usable else 1


def convert(inputs: List[str], output: str, *, n_sents: int = 1, merge: bool = False,
            cats_from_sent_id: bool = False) -> int:
    from .corpora.convert import convert as run_convert
    from .corpora.convert import format_convert_report

    summary = run_convert(inputs, output, n_sents=n_sents, merge=merge, cats_from_sent_id=cats_from_sent_id)
    print(format_convert_report(summary))
    return 0


def train(config_path: str, output: Optional[str], overrides: Dict[str, Any], *, progress: bool = True,
          overwrite: bool = False) -> int:
    """Train; Ctrl-C (exit 130) and SIGTERM (exit 143) stop the run, saving model-last."""
    from .training.loop import train as run_train
    from .training.output import EXIT_TERMINATED, RunFolder, Terminated, check_output, sigterm_stops_training

    output_path = Path(output) if output else None
    check_output(output_path, overwrite)
    config = load_config(config_path, overrides)
    run_folder = RunFolder(output_path, overwrite)
    try:
        with sigterm_stops_training():
            run_train(config, output_path, subscribers=[run_folder], source=config_path, progress=progress)
    except KeyboardInterrupt as e:
        saved = f": model-last was saved in {output_path}." if run_folder.saved_last else "; nothing was saved."
        print(("Terminated (SIGTERM)" if isinstance(e, Terminated) else "Interrupted") + saved, file=sys.stderr)
        return EXIT_TERMINATED if isinstance(e, Terminated) else 130
    return 0


def pretrain(texts: str, output: str, config_path: str, overrides: Dict[str, Any], *,
             resume_path: Optional[str] = None, epoch_resume: Optional[int] = None, progress: bool = True) -> int:
    """Pretrain on TEXTS (sets [paths] raw_text); weights and log.jsonl go to OUTPUT."""
    from .pretraining.loop import pretrain as run_pretrain
    from .training.output import EXIT_TERMINATED, signals_set

    config = load_config(config_path, {"paths.raw_text": texts, **overrides})
    stop = threading.Event()
    with signals_set(stop) as received:  # SIGTERM / Ctrl-C: the epoch ends at the next batch and is saved
        result = run_pretrain(config, Path(output), resume_path=Path(resume_path) if resume_path else None,
                              epoch_resume=epoch_resume, progress=progress, stop=stop)
    if not received:
        return 0
    how = "Terminated (SIGTERM)" if received[0] == signal.SIGTERM else "Interrupted"
    if result.saved:
        print(f"{how}: the last epoch stopped early and was saved as {result.saved[-1]}. Go on with "
              f"`python -m workbench pretrain {texts} {output} {config_path} --resume-path {result.saved[-1]}`.",
              file=sys.stderr)
    else:
        print(f"{how}: nothing was saved.", file=sys.stderr)
    return EXIT_TERMINATED if received[0] == signal.SIGTERM else 130


def evaluate(model: str, data: str, output: Optional[str], *, n_sents: int = 1) -> int:
    from . import load
    from .corpora.corpus import Corpus

    nlp = load(model)
    examples = list(Corpus(data, n_sents=n_sents)(nlp))
    if not examples:
        raise WorkbenchError(f"{data} has no documents to evaluate on.")
    scores = nlp.evaluate(examples)
    print(format_scores(scores))
    if output:
        Path(output).write_text(json.dumps(scores, indent=2), encoding="utf8")
        print(f"Wrote {output}", file=sys.stderr)
    return 0


def apply(model: str, input_path: str, output: str, *, n_process: int = 1, batch_size: Optional[int] = None,
          text_key: str = "text", force: bool = False, vectors: bool = False, use_ray: bool = False,
          address: Optional[str] = None, progress: bool = True) -> int:
    """Annotate INPUT into OUTPUT (JSONL), in processes or, with use_ray, on a Ray cluster."""
    settings = dict(batch_size=batch_size, text_key=text_key, force=force, vectors=vectors, progress=progress)
    if use_ray:
        from .distributed import apply_ray

        apply_ray(model, input_path, output, address=address, n_actors=n_process if n_process > 1 else None, **settings)
    else:
        if address:
            raise WorkbenchError("apply: --address only works with --ray.")
        from .apply import apply as run_apply

        run_apply(model, input_path, output, n_process=n_process, **settings)
    return 0


def format_scores(scores: Dict[str, Any]) -> str:
    lines = []
    for key, value in scores.items():
        if isinstance(value, (int, float)):
            lines.append(f"{key:<12} {100 * value:6.2f}")
    for key, value in scores.items():
        if isinstance(value, dict):
            lines.append("")
            lines.append(f"{key}:")
            lines.append(f"  {'label':<10} {'P':>6} {'R':>6} {'F':>6}")
            for label, prf in value.items():
                lines.append(f"  {label:<10} {100 * prf['p']:6.2f} {100 * prf['r']:6.2f} {100 * prf['f']:6.2f}")
    return "\n".join(lines)
