"""The checking cell each notebook test appends at run time: it reads the kernel's variables
and prints one `RESULT {json}` line. The committed notebooks stay free of test plumbing."""

CHECKS = {
    "01_quickstart": '''
import json as _json
_summary = {
    "smoke": SMOKE, "steps": result.steps, "state": dashboard.state,
    "pos_acc": round(result.best_scores["pos_acc"], 4), "ents_f": round(result.best_scores["ents_f"], 4),
    "identical_after_load": identical, "model_best": str(MODEL),
    "run_folder": sorted(p.name for p in dashboard.run_path.iterdir()),
    "rendered_ents": sum(len(d.ents) for d in docs),
}
print("RESULT " + _json.dumps(_summary))
''',
    "02_shared_vs_independent": '''
import json as _json
_keys = {"size (MB)": "size_mb", "params": "params", "pos_acc": "pos_acc", "ents_f": "ents_f"}
_summary = {
    "smoke": SMOKE,
    **{layout: {**{_keys[k]: round(float(table.loc[layout, k]), 4) for k in _keys},
                "train_wps": float(speed.loc[layout, "train words/s (median)"]),
                "inference_wps": float(speed.loc[layout, "inference words/s (median)"]),
                "repeats": int(speed.loc[layout, "repeats"])} for layout in table.index},
    "identical_after_make_independent": identical,
    "ner_alone_same": ner_alone_same,
    "identical_after_reload": reloaded_same,
    "listening_after": nlp.get_pipe("tok2vec").listening_components,
    "runs_view": list(runs_view.select.options),
}
print("RESULT " + _json.dumps(_summary))
''',
    "03_transformers_runtime": '''
import json as _json
_summary = {
    "smoke": SMOKE, "device": DEVICE,
    "width": int(data.width), "n_layers": len(nlp("a b")._.trf_data.attentions),
    "custom_setter_ok": bool(custom_setter_ok),
    "getters": {name: {"windows": int(r["windows"]), "wordpieces": int(r["wordpieces"]),
                       "padding_ratio": float(r["padding ratio"])} for name, r in getter_table.iterrows()},
    "repeats": int(REPEATS),
    "truncation_warnings": len(caught),
    "split_spans": int(sum(1 for r in long_doc._.trf_data.truncated if r["n_windows"] > 1)),
    "cut_tokens": int(sum(len(r["truncated_tokens"]) for r in long_doc._.trf_data.truncated)),
}
print("RESULT " + _json.dumps(_summary))
''',
    "04_training_with_listeners": '''
import json as _json
def _score(scores):
    return {"pos_acc": round(scores["pos_acc"], 4), "ents_f": round(scores["ents_f"], 4)}
_n_first = 2 * HOLD if SMOKE else HOLD + 3
_first = lambda curve: [round(v, 4) for v in curve[:_n_first]]
_summary = {
    "smoke": SMOKE, "device": DEVICE,
    "fine_tuned": {**_score(result.best_scores), "steps": result.steps,
                   "listeners": sorted(history.grad_curves()),
                   "max_weight_change": float(comparison.loc["fine-tuned", "max |weight change|"])},
    "grad_factor": {"state": dashboard.state, "hold": HOLD,
                    "tagger_factors": _first(curves["tagger"]["factors"]),
                    "tagger_norms": _first(curves["tagger"]["norms"]),
                    "ner_factors": _first(curves["ner"]["factors"])},
    "frozen": {**_score(frozen.best_scores), "unchanged": bool(frozen_unchanged)},
    "runs_view": sorted(runs_view.select.options),
    "runs_view_metric": runs_view.metric.value,
    "side_by_side": {run: {"pos_acc": round(float(row["best pos_acc"]), 4), "ents_f": round(float(row["best ents_f"]), 4),
                           "change": float(row["max |transformer change|"]), "steps": int(row["steps"])}
                     for run, row in side_by_side.iterrows()},
    "multipliers": dict(config["training"]["learn_rate_multipliers"]),
}
print("RESULT " + _json.dumps(_summary))
''',
    "05_static_vectors_and_custom_layers": '''
import json as _json
_summary = {
    "smoke": SMOKE,
    "lee": {"n_keys": summary["n_keys"], "width": summary["width"]},
    "pruned": {"n_rows": pruned.n_rows, "n_keys": pruned.n_keys},
    "glove": HAS_GLOVE,
    "runs": {name: round(float(r["pos_acc"]), 4) for name, r in runs.items()},
    "cli_code_ok": bool(cli_ok),
}
print("RESULT " + _json.dumps(_summary))
''',
    "06_pretraining": '''
import json as _json
_summary = {
    "smoke": SMOKE,
    "pretrain_losses": [round(float(x), 4) for x in log["loss"]],
    "saved": [Path(p).name for p in result.saved],
    "runs": [{k: (round(float(v), 4) if isinstance(v, float) else v) for k, v in r.items()} for r in runs],
    "panel": {"stage": panel.stage, "runs": sorted(panel.results)},
    "init_reports_printed": int(init_reports_printed),
    "runs_view": list(runs_view.select.options),
    "transfer": [{"setup": r["setup"], "train_sents": int(r["train_sents"]), "n_seeds": len(r["accs"]),
                  "mean": float(r["mean"]), "std": float(r["std"])} for _, r in transfer.iterrows()],
    "verdicts": {f"{n}/{setup}": text for (n, setup), text in verdicts.items()},
}
print("RESULT " + _json.dumps(_summary))
''',
    "07_long_pipeline": '''
import json as _json
_cols = {"size (MB)": "size_mb", "params": "params", "UPOS": "pos_acc", "LAS": "dep_las", "UAS": "dep_uas",
         "ents F": "ents_f", "genre macro F": "cats_macro_f", "train words/s": "train_wps",
         "inference words/s": "infer_wps"}
_summary = {
    "smoke": SMOKE, "pipeline": PIPELINE,
    "layouts": {layout: {_cols[k]: float(table.loc[layout, k]) for k in _cols} for layout in table.index},
    "pipe_names": {layout: nlp_.pipe_names for layout, nlp_ in pipelines.items()},
    "ratios": {k: float(v) for k, v in ratios.items()},
    "trf": {layout: {"transformers": int(r["transformers"]), "size_mb": float(r["size (MB)"]),
                     "infer_wps": float(r["inference words/s"])} for layout, r in trf_table.iterrows()},
    "trf_ratios": {k: float(v) for k, v in trf_ratios.items()},
    "trf_repeats": {layout: len(v) for layout, v in trf_times.items()},
    "try_text": {"n_tokens": len(box.doc), "arcs": box.view.value.count('class="wb-arc"'),
                 "roots": sum(t.head.i == t.i for t in box.doc), "cats": sorted(box.doc.cats),
                 "has_chart": "<svg" in box.view.value and "doc.cats" in box.view.value},
    "gold_genre": max(example.reference.cats, key=example.reference.cats.get),
}
print("RESULT " + _json.dumps(_summary))
''',
}
