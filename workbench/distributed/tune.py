"""`sweep --ray`: the planned trials of `workbench.sweep` run on Ray Tune.

Tune gets one grid dimension, the trial index, so it runs exactly the trials
`plan_trials` made (the same as a sweep without Ray); each trial is
`workbench.sweep.run_trial` (a normal `train` run) reporting every evaluation with
`tune.report`. ASHA stops weak trials early (after `grace_period` evaluations);
`max_concurrent` limits the trials running at once; each trial holds
`cpus_per_trial` CPUs (its torch/BLAS threads) and `gpus_per_trial` GPUs. Trials
write into OUTPUT/trials/trial_NNN, so on several machines OUTPUT must be shared
storage; Tune's own records go to OUTPUT/ray.
"""
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

from . import require_ray


def run_on_tune(config_text: str, trials: List[Dict[str, Any]], output: Path, *, metric: str, mode: str,
                address: Optional[str] = None, max_concurrent: Optional[int] = None, cpus_per_trial: float = 1,
                gpus_per_trial: float = 0, grace_period: int = 1, max_evaluations: int = 1000) -> Dict[int, str]:
    """Run the trials; {trial index: "done" or "failed: ..."} (trials ASHA stopped count as done
    here: the sweep marks them "stopped early" from their events)."""
    ray = require_ray()
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    from ..sweep import run_trial, trial_name

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    output, cwd = Path(output).resolve(), os.getcwd()
    threads = max(1, int(cpus_per_trial))

    def trainable(params: Dict[str, Any]) -> None:
        from ..threads import enter_worker

        os.chdir(cwd)  # relative corpus paths in the config mean what they meant to the caller
        enter_worker(threads)  # the trial's CPUs, by the one thread policy
        i = params["trial"]
        run_trial(config_text, trials[i], output / "trials" / trial_name(i), report=tune.report)

    scheduler = ASHAScheduler(time_attr="training_iteration", max_t=max(max_evaluations, grace_period),
                              grace_period=grace_period, reduction_factor=2)
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": cpus_per_trial, "gpu": gpus_per_trial}),
        param_space={"trial": tune.grid_search(list(range(len(trials))))},
        tune_config=tune.TuneConfig(metric=metric, mode=mode, scheduler=scheduler,
                                    max_concurrent_trials=max_concurrent),
        run_config=tune.RunConfig(name="tune", storage_path=str(output / "ray"), verbose=0),
    )
    statuses: Dict[int, str] = {}
    for result in tuner.fit():
        i = result.config["trial"]
        statuses[i] = f"failed: {result.error}" if result.error else "done"
    return statuses
