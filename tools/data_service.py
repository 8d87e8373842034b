"""Runs a tf.data service dispatcher or worker until killed (see docs/data.md).

    python -m tools.data_service --role=dispatcher --port=5050 --work_dir=/shared/dispatch
    python -m tools.data_service --role=worker --dispatcher=HOST:5050 --port=5051
"""
from absl import flags

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_enum("role", None, ["dispatcher", "worker"], "Which server to run.")
flags.DEFINE_integer("port", 0, "Port to listen on (0: any free port, printed).")
flags.DEFINE_string("dispatcher", None, "Dispatcher address host:port (workers).")
flags.DEFINE_string("worker_host", None, "Host name other machines reach this worker by.")
flags.DEFINE_string("work_dir", None, "Dispatcher state directory (fault tolerance).")
flags.mark_flag_as_required("role")


def main(argv):
    del argv
    from vgan_tf.data import service

    if FLAGS.role == "dispatcher":
        server = service.start_dispatcher(FLAGS.port, FLAGS.work_dir,
                                          fault_tolerant=bool(FLAGS.work_dir))
        print(f"tf.data service dispatcher at {server.target}", flush=True)
    else:
        if not FLAGS.dispatcher:
            raise entry.UsageError("--dispatcher=HOST:PORT is required for --role=worker")
        server = service.start_worker(FLAGS.dispatcher, FLAGS.port, FLAGS.worker_host)
        print(f"tf.data service worker registered with {FLAGS.dispatcher}", flush=True)
    server.join()


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
