"""Converters: engine objects -> plain data (dicts, lists, numpy arrays), one module per view.

- config_check: `check_config`, `check_text` -> [Issue(section, key, message)]
- config_tree: rows, value text, registered functions and their arguments, diffs
- layout: `layout_data`, `compare_layouts` (components, embeddings, listeners, params, bytes)
- sweep: `load_sweep` (a sweep output folder), `trial_table`, `parallel_axes`, `score_curves`
- training: `TrainingHistory` (a training-event subscriber) -> curves and a DataFrame
- trf: `alignment_matrix`, `wordpiece_attention`, `word_attention`, `head_summary`
"""
