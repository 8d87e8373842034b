"""Raw videos -> stabilised JPEG strips (the original's extra/stabilize_videos_many.py).

Modules, in the order data flows: `options` (PrepareOptions; PrepareRun, the flags of
vgan-prepare), `reader` (frames with OpenCV's FFmpeg backend), `stabilize` (SIFT + FLANN +
RANSAC, warps, mask fill), `clips` (clip cutting and filters' order), `filters` (drop
reasons, motion measures, scene filters), `video` (one video -> strips + marker: the
per-video function), `corpus` (inputs, ids, the process pool, the list and the summary),
`listing` (the lists: `labels` from class folders, `split` by video), `sheet` (the
contact sheet), `beam` (the same per-video function as an Apache Beam pipeline; needs
the [beam] extra).
The per-frame path (reader, stabilize, clips, filters) uses OpenCV and NumPy only. See
docs/data.md.
"""
from vgan_tf.data.prepare.corpus import find_videos, prepare_videos, video_ids
from vgan_tf.data.prepare.options import PrepareOptions, PrepareRun
from vgan_tf.data.prepare.video import prepare_video

__all__ = ["PrepareOptions", "PrepareRun", "find_videos", "prepare_video", "prepare_videos", "video_ids"]
