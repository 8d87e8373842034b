"""tf.data service: run the input pipeline on a cluster of CPU workers.

Decoding 32-frame strips can take more CPU than a trainer host has. With the service,
the whole pipeline (read, checks, decode, batch) runs on `worker` processes; the trainer
only receives finished batches. One `dispatcher` process hands out work:

  vgan-data-service --role=dispatcher --port=5050 --work_dir=/shared/dispatch
  vgan-data-service --role=worker --dispatcher=HOST:5050 --port=5051
  (one worker per CPU host; --worker_host=THIS_HOST when others must reach it by name)

and the trainer passes `ReadOptions(service="grpc://HOST:5050")` (or a ServiceConfig) to
pipeline.video_dataset (vgan-train: --data_service). Processing modes (see
ServiceConfig): 'parallel_epochs' (sharding OFF: every worker produces the whole data set,
in its own order; fine for a GAN, which samples rather than counts epochs) or
'distributed_epoch' (DYNAMIC: each clip once per epoch, but the final batch of each worker
may be partial unless drop_remainder).

Skipped strips are logged on the workers (their stderr names each file). A SkipCounter is
a variable of the trainer's process, which remote workers cannot reach: leave
counter=None with a service and read the workers' logs.
"""
from __future__ import annotations

import dataclasses

import tensorflow as tf

from vgan_tf import config_flags
from vgan_tf.config_flags import setting

ROLES = ("dispatcher", "worker")

MODES = {
    "parallel_epochs": tf.data.experimental.service.ShardingPolicy.OFF,
    "distributed_epoch": tf.data.experimental.service.ShardingPolicy.DYNAMIC,
}


@dataclasses.dataclass(frozen=True)
class ServiceConfig:
    """Where and how to run a pipeline on tf.data service.

    address: the dispatcher, 'grpc://host:port' or 'host:port'. mode: a key of MODES or a
    ShardingPolicy name (OFF, DYNAMIC, FILE, DATA, FILE_OR_DATA, HINT). job_name: trainers
    that give the same job name share one stream of data (each element goes to one of
    them); None gives each trainer its own job.
    """

    address: str
    mode: str = "parallel_epochs"
    job_name: str | None = None

    def __post_init__(self):
        self.policy()

    def policy(self):
        if self.mode in MODES:
            return MODES[self.mode]
        names = {p.name: p for p in tf.data.experimental.service.ShardingPolicy}
        if self.mode.upper() not in names:
            raise ValueError(f"tf.data service mode must be one of {sorted(MODES)} or "
                             f"{sorted(names)}, got {self.mode!r}")
        return names[self.mode.upper()]

    @property
    def target(self) -> str:
        return self.address if "://" in self.address else "grpc://" + self.address


def as_config(service) -> ServiceConfig:
    return service if isinstance(service, ServiceConfig) else ServiceConfig(str(service))


def distribute(dataset: tf.data.Dataset, service) -> tf.data.Dataset:
    """Runs `dataset` (everything built so far) on the service's workers."""
    config = as_config(service)
    return dataset.apply(tf.data.experimental.service.distribute(
        processing_mode=config.policy(), service=config.target, job_name=config.job_name))


def start_dispatcher(port: int = 0, work_dir: str | None = None,
                     fault_tolerant: bool = False) -> tf.data.experimental.service.DispatchServer:
    """Starts a dispatcher in this process (port 0: any free port); `.target` is its address.

    work_dir (with fault_tolerant) lets a restarted dispatcher recover its state.
    """
    config = tf.data.experimental.service.DispatcherConfig(
        port=port, work_dir=work_dir, fault_tolerant_mode=fault_tolerant)
    return tf.data.experimental.service.DispatchServer(config)


def start_worker(dispatcher: str, port: int = 0, worker_host: str | None = None
                 ) -> tf.data.experimental.service.WorkerServer:
    """Starts a worker in this process that registers with `dispatcher` ('host:port')."""
    dispatcher = dispatcher.split("://", 1)[-1]
    kwargs = {}
    if worker_host:
        kwargs["worker_address"] = f"{worker_host}:%port%"
    config = tf.data.experimental.service.WorkerConfig(
        dispatcher_address=dispatcher, port=port, **kwargs)
    return tf.data.experimental.service.WorkerServer(config)


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """One tf.data service server, as vgan-data-service runs it: each field is the flag of
    the same name of tools/data_service.py (config_flags). Checked when made: a bad value
    raises ValueError naming the flag (a worker needs --dispatcher)."""

    role: str | None = setting(None, "Which server to run.", choices=ROLES)
    port: int = setting(0, "Port to listen on (0: any free port, printed).")
    dispatcher: str | None = setting(None, "Dispatcher address host:port (workers).")
    worker_host: str | None = setting(None, "Host name other machines reach this worker by.")
    work_dir: str | None = setting(None, "Dispatcher state directory (fault tolerance).")

    def __post_init__(self):
        config_flags.validate_fields(self)
        if self.role is None:
            raise ValueError(f"--role is required: one of {ROLES}")
        if self.role == "worker" and not self.dispatcher:
            raise ValueError("--dispatcher=HOST:PORT is required for --role=worker")


def start_server(config: ServerConfig):
    """Starts the server `config` describes in this process: a dispatcher (fault tolerant
    when it has a work_dir) or a worker registered with config.dispatcher."""
    if config.role == "dispatcher":
        return start_dispatcher(config.port, config.work_dir,
                                fault_tolerant=bool(config.work_dir))
    return start_worker(config.dispatcher, config.port, config.worker_host)
