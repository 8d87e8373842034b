"""Pictures of a trained generator: sample grids (GIF + MP4), the parts, an interpolation.

  python -m tools.generate --generator=runs/golf --out_dir=pictures --num=16 --seed=0
  python -m tools.generate --generator=export/generator/3 --out_dir=pictures \
      --interpolate=3,7 --steps=10

--generator is a training directory, a .keras file or an exported SavedModel folder.
Writes samples.gif, samples.mp4, mask.gif, background.png, foreground.gif and
masked_foreground.gif (where the model has those parts), interpolation.gif,
interpolation.png and frame_strips.png (every second frame of four samples, each with its
mask beneath; see vgan_tf/viz/movies.py); prints each path. --sample_files=N also
writes N videos as one GIF each (samples/seed_<s>.gif, from --seed), e.g. for
`vgan-evaluate --generator=<out_dir>/samples`. Every flag is a field of
vgan_tf.viz.movies.GenerateConfig.
"""
import os

from vgan_tf import config_flags
from vgan_tf.viz.movies import GenerateConfig

from . import entry

config_flags.define_flags(GenerateConfig)


def main(argv):
    del argv
    from vgan_tf.metrics import model_sources
    from vgan_tf.progress import Progress
    from vgan_tf.viz import movies

    config = config_flags.config_from_flags(GenerateConfig)
    config_flags.validate_fields(config)
    for flag in ("generator", "out_dir"):
        if not getattr(config, flag):
            raise entry.UsageError(f"--{flag} is required")
    source = model_sources.load_video_source(config.generator)
    for path in movies.write_generated(source, config.out_dir, config.options):
        print(path)
    if config.sample_files:
        folder = os.path.join(config.out_dir, "samples")
        with Progress(config.sample_files, unit="video", label="sample files") as bar:
            movies.write_sample_files(source, folder, config.sample_files,
                                      config.options.seed, config.options.fps,
                                      progress=lambda done, num: bar.update(done - bar.done))
        print(f"{folder}/ ({config.sample_files} GIFs)")


def run():
    entry.run(main)


if __name__ == "__main__":
    run()
