"""Multi-process launches (``torchrun``, SLURM): who does the one-time setup, and how many processes share a batch.

Under a launcher every process runs the whole command. Work that must happen once (writing the
run's configuration and folds, extracting features) runs on global rank 0 while the others wait
at a barrier, then every process opens the result. The configured batch is the global one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import torch
import torch.distributed as dist
from lightning.fabric.plugins.environments import ClusterEnvironment, SLURMEnvironment, TorchElasticEnvironment

from stasc.config import ExperimentConfig

T = TypeVar("T")


def _environment() -> ClusterEnvironment | None:
    """The launcher's environment when this process is one of several, else None."""
    for environment in (TorchElasticEnvironment, SLURMEnvironment):
        if environment.detect():
            env = environment()
            if env.world_size() > 1:
                return env
    return None


def global_rank() -> int:
    env = _environment()
    return 0 if env is None else env.global_rank()


def is_main_process() -> bool:
    """False in the extra processes of a multi-process run: they train, but write no reports."""
    return global_rank() == 0


def _process_group() -> bool:
    """Join (or reuse) the launch's process group; False when this process runs alone."""
    env = _environment()
    if env is None:
        return False
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend, init_method=f"tcp://{env.main_address}:{env.main_port}",
                                rank=env.global_rank(), world_size=env.world_size())
    return True


def once(work: Callable[[], object], *, then: Callable[[], T]) -> T:
    """``work()`` on global rank 0 only, a barrier, then ``then()`` on every process."""
    if not _process_group():
        work()
        return then()
    if dist.get_rank() == 0:
        try:
            work()
        finally:
            dist.barrier()  # release the others even when the work failed (they then fail to open it)
    else:
        dist.barrier()
    return then()


def world_size(config: ExperimentConfig) -> int:
    """Processes that share one training batch: devices per node × nodes."""
    return config.train.devices * config.train.num_nodes


def loader_workers(config: ExperimentConfig) -> int:
    """Data-loading workers per process: as configured, or with ``auto`` none on a CPU run (the
    cores train) and the node's cores divided among its GPUs on CUDA (patches are cut in workers)."""
    workers = config.train.num_workers
    if workers != "auto":
        return int(workers)
    if not (torch.cuda.is_available() and config.train.accelerator in ("auto", "gpu", "cuda")):
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(16, cores // max(1, config.train.devices)))
