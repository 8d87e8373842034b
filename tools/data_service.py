"""Runs a tf.data service dispatcher or worker until killed (see docs/data.md).

    python -m tools.data_service --role=dispatcher --port=5050 --work_dir=/shared/dispatch
    python -m tools.data_service --role=worker --dispatcher=HOST:5050 --port=5051

Every flag is a field of vgan_tf.data.service.ServerConfig (its help, default and choices
come from there).
"""
from absl import flags

from vgan_tf import config_flags
from vgan_tf.data.service import ServerConfig

from . import entry

FLAGS = flags.FLAGS
config_flags.define_flags(ServerConfig)
flags.mark_flag_as_required("role")


def main(argv):
    del argv
    from vgan_tf.data import service

    config = config_flags.config_from_flags(ServerConfig)
    server = service.start_server(config)
    if config.role == "dispatcher":
        print(f"tf.data service dispatcher at {server.target}", flush=True)
    else:
        print(f"tf.data service worker registered with {config.dispatcher}", flush=True)
    server.join()


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
