"""Asks a TF Serving server (gRPC or REST) for generated videos and writes them as files.

    python -m tools.serving_client --server=localhost:8500 --seeds=0,1,2 --out_dir=videos
    python -m tools.serving_client --server=http://localhost:8501 --form=instances \
        --seed=100 --num=8 --out_dir=videos --formats=gif
    python -m tools.serving_client --server=localhost:8500 --served_files=gif --seeds=7

    python -m tools.serving_client --server=localhost:8500 --image=photo.jpg \
        --image=beach.png --out_dir=videos          # the future predictor

Writes seed_<s>.gif, seed_<s>_strip.jpg (frames stacked vertically) and the masks (over
REST by default the server's files, without masks: --served_files=none for them); with
--image, <name>.gif, <name>_strip.jpg and <name>_mask.gif per image file, from the model
named "predictor" unless --model_name says otherwise.
"""
from absl import flags

from vgan_tf.serving import api

from . import entry

FLAGS = flags.FLAGS
flags.DEFINE_string("server", "localhost:8500",
                    "host:port for gRPC, http://host:port for REST.")
flags.DEFINE_enum("protocol", None, ["grpc", "rest"], "Default: from --server.")
flags.DEFINE_string("model_name", None, "Served model name (default: generator, or "
                    "predictor with --image).")
flags.DEFINE_multi_string("image", [], "Image file(s) (JPEG/PNG) for the future "
                          "predictor; repeat the flag for several.")
flags.DEFINE_integer("version", None, "Model version; default: the newest.")
flags.DEFINE_list("seeds", None, "Seeds to generate (overrides --seed/--num).")
flags.DEFINE_integer("seed", 0, "First seed.")
flags.DEFINE_integer("num", 4, "Number of videos (seeds seed .. seed + num - 1).")
flags.DEFINE_string("out_dir", "served_videos", "Where to write the files.")
flags.DEFINE_list("formats", ["gif", "strip"], "gif and/or strip.")
flags.DEFINE_enum("served_files", "auto", ["auto", "none", "jpeg_strip", "gif"],
                  "auto: uint8 videos and masks over gRPC, files encoded by the server "
                  "over REST (gif for --formats=gif, else jpeg_strip; no mask files); "
                  "none: uint8 videos and masks; jpeg_strip, gif: the server's files "
                  "(generate_jpeg_strip, generate_gif).")
flags.DEFINE_enum("form", "inputs", ["inputs", "instances"], "REST body form.")
flags.DEFINE_integer("max_batch", api.MAX_BATCH, "Refuse larger requests before sending.")
flags.DEFINE_integer("max_receive_mb", 1024, "gRPC receive limit in MiB.")
flags.DEFINE_float("timeout", 120.0, "Seconds per request.")


def main(argv):
    del argv
    from vgan_tf import serving

    try:
        seeds = ([int(s) for s in FLAGS.seeds] if FLAGS.seeds
                 else list(range(FLAGS.seed, FLAGS.seed + FLAGS.num)))
    except ValueError:
        raise entry.UsageError(f"--seeds must be integers, got {FLAGS.seeds}") from None
    model_name = FLAGS.model_name or (api.PREDICTOR_MODEL if FLAGS.image
                                      else api.GENERATOR_MODEL)
    kwargs = dict(model_name=model_name, version=FLAGS.version,
                  timeout=FLAGS.timeout, max_batch=FLAGS.max_batch)
    if (FLAGS.protocol or ("rest" if "://" in FLAGS.server else "grpc")) == "rest":
        kwargs["form"] = FLAGS.form
    else:
        kwargs["max_receive_bytes"] = FLAGS.max_receive_mb << 20
    client = serving.make_client(FLAGS.server, FLAGS.protocol or "grpc", **kwargs)
    if FLAGS.image:
        paths = serving.predict_to_files(client, FLAGS.image, FLAGS.out_dir,
                                         formats=FLAGS.formats,
                                         served_files=FLAGS.served_files)
    else:
        paths = serving.generate_to_files(client, seeds, FLAGS.out_dir,
                                          formats=FLAGS.formats,
                                          served_files=FLAGS.served_files)
    print("\n".join(paths))


def run():
    from vgan_tf import serving
    entry.run(main, stopped=(serving.ServingError,), stopped_prefix="server error ")


if __name__ == "__main__":
    run()
