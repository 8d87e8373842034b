"""tf.distribute strategies by name, and who the chief is.

    default       no distribution (tf.distribute's default strategy): one device.
    one_device    OneDeviceStrategy on the first GPU, else the CPU.
    mirrored      MirroredStrategy over the local GPUs (or, without GPUs, over the local
                  logical CPU devices: more than one only when configured, as in tests).
    multi_worker  MultiWorkerMirroredStrategy; the cluster comes from TF_CONFIG.

`--batch_size` is always the GLOBAL batch: each of the `num_replicas_in_sync` replicas
gets batch_size / replicas (with several replicas the trainer's per-worker input
pipelines batch per replica, see training.input.training_input), and the losses divide by the
global batch (tf.nn.compute_average_loss), so a step means the same whatever the replica
count. MultiWorkerMirroredStrategy must be created before any other TensorFlow op:
`make_strategy` is the first thing `train()` calls.
"""
from __future__ import annotations

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker", "one_device")


def make_strategy(name: str, devices=None) -> tf.distribute.Strategy:
    """The strategy `name` (one of STRATEGIES); `devices` overrides the device list."""
    if name not in STRATEGIES:
        raise ValueError(f"--strategy must be one of {STRATEGIES}, got {name!r}")
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if devices is None:
        gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
        devices = gpus or [d.name for d in tf.config.list_logical_devices("CPU")]
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(devices[0])
    return tf.distribute.MirroredStrategy(list(devices))


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the real checkpoints, summaries and exports."""
    return bool(getattr(strategy.extended, "should_checkpoint", True))


def task_id(strategy: tf.distribute.Strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(getattr(resolver, "task_id", 0) or 0)


def per_replica_batch(global_batch: int, strategy: tf.distribute.Strategy) -> int:
    """The batch each replica sees; raises ValueError naming --batch_size if uneven."""
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        raise ValueError(f"--batch_size ({global_batch}) is the global batch and must be a "
                         f"multiple of the {replicas} replicas in sync")
    return global_batch // replicas


def has_gpu() -> bool:
    return bool(tf.config.list_physical_devices("GPU"))
