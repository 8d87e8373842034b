r"""Asks a TF Serving server (gRPC or REST) for generated videos and writes them as files.

    python -m tools.serving_client --server=localhost:8500 --seeds=0,1,2 --out_dir=videos
    python -m tools.serving_client --server=http://localhost:8501 --form=instances \
        --seed=100 --num=8 --out_dir=videos --formats=gif
    python -m tools.serving_client --server=localhost:8500 --served_files=gif --seeds=7
    python -m tools.serving_client --server=localhost:8500 --num=64 --max_batch=8

    python -m tools.serving_client --server=localhost:8500 --image=photo.jpg \
        --image=beach.png --out_dir=videos          # the future predictor

Writes seed_<s>.gif, seed_<s>_strip.jpg (frames stacked vertically) and the masks (over
REST by default the server's files, without masks: --served_files=none for them); with
--image, <name>.gif, <name>_strip.jpg and <name>_mask.gif per image file, from the model
named "predictor" unless --model_name says otherwise. Prints one line per request as it
returns ("call 1: 8 videos in 412.3 ms"), the written paths, and, for several requests
(at most --max_batch rows each), videos/s, calls/s and the mean / p50 / p90 latency.
Every flag is a field of vgan_tf.serving.ClientConfig (its help, default and choices).
"""
from absl import flags

from vgan_tf import config_flags
from vgan_tf.serving import client_job

from . import entry

FLAGS = flags.FLAGS
config_flags.define_flags(client_job.ClientConfig)


def main(argv):
    del argv
    config = config_flags.config_from_flags(client_job.ClientConfig).validate()
    client_job.run(config, report=print)


def run():
    from vgan_tf import serving
    entry.run(main, stopped=(serving.ServingError,), stopped_prefix="server error ")


if __name__ == "__main__":
    run()
