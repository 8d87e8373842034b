"""Served videos as files: seed_<s>.gif, seed_<s>_strip.jpg, seed_<s>_mask.gif, ...

`generate_to_files(client, seeds, out_dir)` asks a client (gRPC or REST) for the videos
of `seeds`, in requests of at most `client.max_batch` rows, and writes them;
`write_videos` writes one response. numpy + Pillow (vgan_tf.viz.video_files). Given a
`timing.CallTimer`, generate_to_files and predict_to_files time each request (not the
file writing).
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

from vgan_tf.serving import api
from vgan_tf.serving.base import seeds_array
from vgan_tf.viz import video_files

FORMATS = ("gif", "strip")
SERVED_FILES = ("auto", "none", "jpeg_strip", "gif")


def resolve_served_files(served_files: str, client, formats=FORMATS) -> str:
    """"auto": what `client` fetches files with: "none" (uint8 videos and masks, encoded
    here) where the client carries tensors cheaply (gRPC), server-encoded files where
    it does not (REST, `client.prefers_served_files`: a uint8 video travels as a JSON
    number list, far slower than its file's b64 bytes; README, serving section):
    "gif" when only GIFs are wanted, else "jpeg_strip" (the strip also gives the GIF).
    No mask files then. Other values are returned as they are, after a check."""
    if served_files not in SERVED_FILES:
        raise ValueError(f"served_files must be one of {', '.join(SERVED_FILES)}, got "
                         f"{served_files!r}")
    if served_files != "auto":
        return served_files
    if not getattr(client, "prefers_served_files", False):
        return "none"
    return "gif" if tuple(formats) == ("gif",) else "jpeg_strip"


def write_videos(outputs: dict, seeds, out_dir: str, formats=FORMATS,
                 fps: float = 8.0, stems=None) -> list:
    """Writes the served videos of `seeds` (one per row of `outputs`) into `out_dir`.

    `outputs` is what `client.generate` returned (uint8 video and mask: encoded here), or
    {"strip_bytes": client.generate_jpeg_strips(...)} or {"gif_bytes":
    client.generate_gifs(...)}: served files are written as served (a served strip also
    gives a GIF when "gif" is in `formats`). Returns the written paths. `stems` names the
    files of each row instead of seed_<s> (the predictor's: its input files' names).
    """
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"formats must be among gif, strip; got {sorted(unknown)}")
    os.makedirs(out_dir, exist_ok=True)
    names = list(stems) if stems is not None else [f"seed_{s}" for s in seeds_array(seeds)]
    paths = []
    for row, name_ in enumerate(names):
        stem = os.path.join(out_dir, name_)
        if api.GIF_BYTES in outputs:
            paths.append(stem + ".gif")
            with open(paths[-1], "wb") as handle:
                handle.write(bytes(outputs[api.GIF_BYTES][row]))
        if api.STRIP_BYTES in outputs:
            data = bytes(outputs[api.STRIP_BYTES][row])
            if "strip" in formats:
                paths.append(stem + "_strip.jpg")
                with open(paths[-1], "wb") as handle:
                    handle.write(data)
            if "gif" in formats:  # square frames: a strip of W x (T*W) holds T frames
                height, width = video_files.decode_strip(data, 1).shape[1:3]
                video = video_files.decode_strip(data, height // width)
                paths.append(video_files.write_gif(stem + ".gif", video, fps))
        for name, suffix in ((api.VIDEO, ""), (api.MASK, "_mask")):
            if name not in outputs:
                continue
            video = np.asarray(outputs[name][row])
            if video.dtype != np.uint8:
                raise ValueError(f"{name} must be uint8 to write files, got {video.dtype}: "
                                 f"use a uint8 signature ({api.SERVING_DEFAULT}, "
                                 f"{api.GENERATE_FROM_Z})")
            if "gif" in formats:
                paths.append(video_files.write_gif(f"{stem}{suffix}.gif", video, fps))
            if "strip" in formats:
                paths.append(video_files.write_strip(f"{stem}{suffix}_strip.jpg", video))
    return paths


def _timed(timer, rows: int):
    return contextlib.nullcontext() if timer is None else timer.call(rows)


def generate_to_files(client, seeds, out_dir: str, formats=FORMATS,
                      served_files: str = "auto", fps: float = 8.0, timer=None) -> list:
    """Asks `client` for the videos of `seeds` and writes them; returns the paths.

    `served_files`: "none" (uint8 videos and masks, encoded here), "jpeg_strip" or "gif"
    (files encoded by the server), "auto" (`resolve_served_files`: "none" over gRPC,
    server files over REST). Large seed lists are sent in requests of at most
    `client.max_batch` rows; `timer` (a timing.CallTimer) times each."""
    served_files = resolve_served_files(served_files, client, formats)
    seeds = seeds_array(seeds)
    if seeds.size == 0:
        raise ValueError("no seeds to generate")
    paths = []
    for start in range(0, seeds.size, client.max_batch):
        chunk = seeds[start:start + client.max_batch]
        with _timed(timer, chunk.size):
            if served_files == "jpeg_strip":
                outputs = {api.STRIP_BYTES: client.generate_jpeg_strips(chunk)}
            elif served_files == "gif":
                outputs = {api.GIF_BYTES: client.generate_gifs(chunk)}
            else:
                outputs = client.generate(chunk)
        paths += write_videos(outputs, chunk, out_dir, formats, fps)
    return paths


def predict_to_files(client, image_paths, out_dir: str, formats=FORMATS,
                     served_files: str = "auto", fps: float = 8.0, timer=None) -> list:
    """Sends image files (JPEG/PNG, any size) to a served future predictor and writes
    <name>.gif, <name>_strip.jpg, <name>_mask.gif per image (named after the input file);
    returns the paths. `served_files` and `timer` as for generate_to_files."""
    served_files = resolve_served_files(served_files, client, formats)
    image_paths = list(image_paths)
    if not image_paths:
        raise ValueError("no images to send")
    signature = {"none": api.SERVING_DEFAULT, "jpeg_strip": api.PREDICT_JPEG_STRIP,
                 "gif": api.PREDICT_GIF}[served_files]
    paths = []
    for start in range(0, len(image_paths), client.max_batch):
        chunk = image_paths[start:start + client.max_batch]
        data = []
        for path in chunk:
            with open(path, "rb") as handle:
                data.append(handle.read())
        with _timed(timer, len(data)):
            outputs = client.predict_images(data, signature)
        stems = [os.path.splitext(os.path.basename(p))[0] for p in chunk]
        paths += write_videos(outputs, None, out_dir, formats, fps, stems=stems)
    return paths
