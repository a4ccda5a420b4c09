"""`apply --ray`: the `apply` command on a Ray cluster, with Ray Data.

Ray Data reads INPUT (`read_text` for JSONL lines, `read_binary_files` for .txt
files) and runs `map_batches` with `Annotator`, a callable class: each actor
loads the pipeline once and turns a batch of input rows into output lines with
the same record functions as `apply`, so the OUTPUT is the same line for line
(Ray keeps the input order). The driver writes the lines as they arrive.

Actors: by default one per cluster CPU, less one CPU left for reading and writing
(so a 2-core machine runs one actor and never waits on itself). On a cluster of
several machines MODEL and INPUT must be readable at the same path on every node
(shared storage).
"""
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from ..apply import OutputFile, Progress, doc_record, input_files, text_of_line
from ..errors import WorkbenchError
from . import init_ray, require_ray


class Annotator:
    """Ray Data callable class: loads the pipeline once per actor; batch of rows -> lines."""

    def __init__(self, model: str, kind: str, text_key: str, vectors: bool, threads: int, root: str):
        from ..pipeline.language import load
        from ..threads import enter_worker

        enter_worker(threads)  # the actor's share (its CPUs), by the one thread policy
        self.nlp = load(model)
        self.kind, self.text_key, self.vectors, self.root = kind, text_key, vectors, root

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, List[Any]]:
        """Lines for the batch, with an "error" column: a user's mistake (a bad line) travels
        back as data, since Ray does not keep an exception's cause across processes."""
        try:
            out = self._annotate(batch)
        except WorkbenchError as e:
            return {"record": [""], "n_words": [0], "error": [f"{type(e).__name__}\t{e}"]}
        out["error"] = [""] * len(out["record"])
        return out

    def _annotate(self, batch: Dict[str, Any]) -> Dict[str, List[Any]]:
        texts, extras = [], []
        if self.kind == "jsonl":
            for line in batch["text"]:
                text = text_of_line(str(line), self.text_key, f"a line of the input ({str(line)[:40]!r})")
                if text is not None:
                    texts.append(text)
                    extras.append({})
        else:
            for data, path in zip(batch["bytes"], batch["path"]):
                texts.append(bytes(data).decode("utf8"))
                extras.append({"file": str(Path(path).relative_to(self.root))})
        records, words = [], []
        for doc, extra in self.nlp.pipe(zip(texts, extras), as_tuples=True, batch_size=max(1, len(texts)),
                                        keep_trf_data=self.vectors):
            records.append(doc_record(doc, extra, vectors=self.vectors))
            words.append(len(doc))
        return {"record": records, "n_words": words}


def apply_ray(model: Union[str, Path], input_path: Union[str, Path], output_path: Union[str, Path], *,
              address: Optional[str] = None, n_actors: Optional[int] = None, batch_size: Optional[int] = None,
              text_key: str = "text", force: bool = False, vectors: bool = False, progress: bool = True) -> Dict[str, Any]:
    """`apply` on Ray: joins the cluster at `address` (None: the running one, or a new
    local one); `n_actors` annotators (default: the cluster's CPUs less one)."""
    ray = require_ray()
    kind, files = input_files(input_path)
    out = OutputFile(output_path, force)
    model = str(Path(model).resolve())
    if not (Path(model) / "config.cfg").exists():
        raise WorkbenchError(f"apply: {model} is not a saved pipeline (no config.cfg). Pass OUTPUT/model-best of `train`.")
    if ray.is_initialized() and address:
        raise WorkbenchError("apply_ray: Ray is already running in this process; drop --address or call ray.shutdown().")
    init_ray(address)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    n_actors = n_actors or max(1, cpus - 1)
    if batch_size is None:
        from confection import Config

        batch_size = int(Config().from_disk(Path(model) / "config.cfg", interpolate=False)["nlp"].get("batch_size", 256))
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # the output follows the input
    context.enable_progress_bars = False  # the driver shows its own
    paths = [str(f.resolve()) for f in files]
    if kind == "jsonl":
        ds = ray.data.read_text(paths)
    else:
        ds = ray.data.read_binary_files(paths, include_paths=True)
    root = str(Path(input_path).resolve() if Path(input_path).is_dir() else Path(input_path).resolve().parent)
    ds = ds.map_batches(
        Annotator, batch_size=batch_size, batch_format="numpy", num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=n_actors),  # a fixed pool: each actor loads the pipeline once
        fn_constructor_kwargs=dict(model=model, kind=kind, text_key=text_key, vectors=vectors, threads=1, root=root),
    )
    report = Progress(progress, desc="apply --ray")
    try:
        with out as f:
            for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
                _raise_sent_error(batch["error"])
                f.writelines(str(line) + "\n" for line in batch["record"])
                report.update(len(batch["record"]), int(batch["n_words"].sum()))
    except Exception as e:
        cause = _workbench_cause(e)
        if cause is not None:
            raise type(cause)(str(cause)) from None
        raise
    return report.finish(out.path)


def _raise_sent_error(errors) -> None:
    """Raise the first workbench error an annotator sent back as data."""
    from .. import errors as error_classes

    for sent in errors:
        if str(sent):
            name, _, message = str(sent).partition("\t")
            cls = getattr(error_classes, name, WorkbenchError)
            raise (cls if isinstance(cls, type) and issubclass(cls, WorkbenchError) else WorkbenchError)(message)


def _workbench_cause(error: BaseException) -> Optional[BaseException]:
    """The WorkbenchError (e.g. a bad input line) behind Ray's wrapping of an actor's error."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, WorkbenchError):
            for cls in type(error).__mro__:  # Ray subclasses the cause's type: find the workbench's own
                if cls.__module__.startswith("workbench."):
                    return cls(*error.args) if not hasattr(error, "cause") else error.cause
        cause = getattr(error, "cause", None)
        error = cause if isinstance(cause, BaseException) else (error.__cause__ or error.__context__)
    return None
