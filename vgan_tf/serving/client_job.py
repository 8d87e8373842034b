"""The serving client as one job: `ClientConfig` (each field a flag of
tools/serving_client.py) -> ask a server for videos, write them, report each call.

    config = ClientConfig(server="localhost:8500", seeds=("0,1,2",)).validate()
    paths = client_job.run(config, report=print)

`run` reports one line per call as it returns ("call 1: 2 videos in 153.2 ms"), then the
written paths, then, for several calls, their summary (timing.Summary.line: videos/s,
calls/s, mean / p50 / p90 latency). Requests hold at most `max_batch` rows, so
`--max_batch=8 --num=64` makes 8 calls.
"""
from __future__ import annotations

import dataclasses

from vgan_tf import config_flags
from vgan_tf.config_flags import setting
from vgan_tf.serving import api, files, protocol_of, timing
from vgan_tf.serving.rest_client import FORMS


def _split(values) -> list:
    """Repeated and comma-separated flag values as one list ("1,2" "3" -> 1, 2, 3)."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@dataclasses.dataclass(frozen=True)
class ClientConfig:
    """What the client asks for and where it writes it (the flags of vgan-serving-client)."""

    server: str = setting("localhost:8500",
                          "host:port for gRPC, http://host:port for REST.")
    protocol: str | None = setting(None, "Default: from --server.", choices=("grpc", "rest"))
    model_name: str | None = setting(None, "Served model name (default: generator, or "
                                     "predictor with --image).")
    image: tuple = setting((), "Image file(s) (JPEG/PNG) for the future predictor; repeat "
                           "the flag for several.")
    version: int | None = setting(None, "Model version; default: the newest.")
    seeds: tuple = setting((), "Seeds to generate, comma-separated or repeated (overrides "
                           "--seed/--num).")
    seed: int = setting(0, "First seed.")
    num: int = setting(4, "Number of videos (seeds seed .. seed + num - 1).", minimum=1)
    out_dir: str = setting("served_videos", "Where to write the files.")
    formats: tuple = setting(files.FORMATS, "gif and/or strip (comma-separated or "
                             "repeated).")
    served_files: str = setting(
        "auto", "auto: uint8 videos and masks over gRPC, files encoded by the server over "
        "REST (gif for --formats=gif, else jpeg_strip; no mask files); none: uint8 videos "
        "and masks; jpeg_strip, gif: the server's files (generate_jpeg_strip, "
        "generate_gif).", choices=files.SERVED_FILES)
    form: str = setting("inputs", "REST body form.", choices=FORMS)
    max_batch: int = setting(api.MAX_BATCH, "Rows per request: larger requests are refused "
                             "before sending, longer seed lists sent as several.", minimum=1)
    max_receive_mb: int = setting(1024, "gRPC receive limit in MiB.", minimum=1)
    timeout: float = setting(120.0, "Seconds per request.", minimum=0, exclusive=True)

    def validate(self) -> "ClientConfig":
        """Checks every field (errors name the flag); returns the config."""
        config_flags.validate_fields(self)
        unknown = sorted(set(self.format_list()) - set(files.FORMATS))
        if unknown or not self.format_list():
            raise ValueError(f"--formats must be among {', '.join(files.FORMATS)}, got "
                             f"{','.join(self.formats)}")
        self.seed_list()
        return self

    def seed_list(self) -> list:
        """--seeds as integers, else seed .. seed + num - 1."""
        if not self.seeds:
            return list(range(self.seed, self.seed + self.num))
        try:
            return [int(s) for s in _split(self.seeds)]
        except ValueError:
            raise ValueError(f"--seeds must be integers, got {','.join(self.seeds)}") \
                from None

    def format_list(self) -> tuple:
        return tuple(_split(self.formats))

    def client_options(self) -> dict:
        """The keyword arguments of make_client for this server and protocol."""
        model_name = self.model_name or (api.PREDICTOR_MODEL if self.image
                                         else api.GENERATOR_MODEL)
        options = dict(model_name=model_name, version=self.version, timeout=self.timeout,
                       max_batch=self.max_batch)
        if protocol_of(self.server, self.protocol) == "rest":
            options["form"] = self.form
        else:
            options["max_receive_bytes"] = self.max_receive_mb << 20
        return options


def run(config: ClientConfig, report=print) -> list:
    """Asks the server, writes the files; `report` gets each call's line, each path,
    then the summary of several calls. Returns the written paths."""
    from vgan_tf.serving import make_client

    timer = timing.CallTimer(report)
    with make_client(config.server, protocol_of(config.server, config.protocol),
                     **config.client_options()) as client:
        if config.image:
            paths = files.predict_to_files(client, config.image, config.out_dir,
                                           config.format_list(), config.served_files,
                                           timer=timer)
        else:
            paths = files.generate_to_files(client, config.seed_list(), config.out_dir,
                                            config.format_list(), config.served_files,
                                            timer=timer)
    for path in paths:
        report(path)
    if len(timer.calls) > 1:
        report(timer.summary().line())
    return paths
