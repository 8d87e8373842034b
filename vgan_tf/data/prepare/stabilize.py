"""Stabilising one clip: SIFT + FLANN + RANSAC homographies, warps, mask fill (no TensorFlow).

The original's per-frame step (extra/stabilize_videos_many.py), on BGR uint8 frames at
the source size:
- SIFT (OpenCV defaults) on the full-resolution frame; FLANN k=2 matches of the new
  frame's descriptors (query) against the reference frame's (train), Lowe ratio test,
  at least `min_matches` good ones, `findHomography(new -> reference, RANSAC, threshold)`.
- reference='chain': the reference is the previous frame and the homographies are
  multiplied, so the product maps each frame into the clip's first frame;
  reference='first': each frame is matched to the first frame directly.
- The frame and an all-ones mask are warped with the product (bilinear), the mask is
  floor-divided to {0, 1} and eroded (erode x erode), both are resized so the short side
  is `size` and centre-cropped (`fit_frame`); uncovered pixels keep the previous
  stabilised frame: prev * (1 - mask) + warped * mask, in float64, unrounded from frame to
  frame; frames are rounded to uint8 (half to even, as imwrite's conversion) at the end.
- A mask with no pixel left means the warp left the frame: the clip ends there.
"""
from __future__ import annotations

import cv2
import numpy as np

NO_DESCRIPTORS = "no_descriptors"
FEW_KEYPOINTS = "few_keypoints"
FEW_MATCHES = "few_matches"
NO_HOMOGRAPHY = "no_homography"
MATCH_FAILURES = (NO_DESCRIPTORS, FEW_KEYPOINTS, FEW_MATCHES, NO_HOMOGRAPHY)
OUT_OF_FRAME = "out_of_frame"
ADDED = "added"

_FLANN_INDEX = {"linear": 0, "kdtree": 1}  # OpenCV's flann_algorithm_t values


def fit_frame(image: np.ndarray, size: int) -> np.ndarray:
    """Resize so the short side is `size` (bilinear; sides truncated as int(side * scale)),
    then centre-crop size x size: the original's process_im."""
    h, w = image.shape[:2]
    scale = float(size) / h if w > h else float(size) / w
    new_h, new_w = int(h * scale), int(w * scale)
    image = cv2.resize(image, (new_w, new_h))
    top, left = new_h // 2 - size // 2, new_w // 2 - size // 2
    return image[top:top + size, left:left + size]


def corner_motion(homography: np.ndarray, width: int, height: int) -> float:
    """Mean displacement (pixels) of the 4 frame corners under `homography`."""
    corners = np.float64([[0, 0], [width, 0], [width, height], [0, height]])
    moved = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), homography).reshape(-1, 2)
    return float(np.linalg.norm(moved - corners, axis=1).mean())


class FrameMatcher:
    """SIFT features and the homography of a frame into a reference frame."""

    def __init__(self, options):
        self.options = options
        self.sift = cv2.SIFT_create()
        index = dict(algorithm=_FLANN_INDEX[options.index], trees=options.trees)
        self.flann = cv2.FlannBasedMatcher(index, dict(checks=options.checks))

    def features(self, image: np.ndarray):
        """(keypoints, float32 descriptors or None) of a BGR frame; None when SIFT found
        no keypoint (OpenCV 4 returns None there, OpenCV 5 an empty [0, 128] array)."""
        keypoints, descriptors = self.sift.detectAndCompute(image, None)
        if descriptors is not None and len(descriptors) == 0:
            descriptors = None
        return keypoints, descriptors

    def homography(self, current, reference):
        """(3x3 homography mapping `current` frame points into `reference`, None) or
        (None, failure reason); both arguments are `features()` results."""
        (kp1, des1), (kp2, des2) = current, reference
        if des1 is None or des2 is None:
            return None, NO_DESCRIPTORS
        if len(kp1) < 2 or len(kp2) < 2:
            return None, FEW_KEYPOINTS
        if self.options.index == "kdtree":
            cv2.setRNGSeed(0)  # the forest is random: the same frames give the same matches
        matches = self.flann.knnMatch(des1.astype("float32"), des2.astype("float32"), k=2)
        ratio = self.options.ratio
        good = [pair[0] for pair in matches
                if len(pair) == 2 and pair[0].distance < ratio * pair[1].distance]
        if len(good) < self.options.min_matches:
            return None, FEW_MATCHES
        src = np.float32([kp1[m.queryIdx].pt for m in good]).reshape(-1, 1, 2)
        dst = np.float32([kp2[m.trainIdx].pt for m in good]).reshape(-1, 1, 2)
        homography, _ = cv2.findHomography(src, dst, cv2.RANSAC,
                                           self.options.ransac_threshold)
        if homography is None:
            return None, NO_HOMOGRAPHY
        return homography, None


class ClipStabilizer:
    """Builds one stabilised clip from its first frame on, one `add(frame)` at a time.

    `frames()` gives the clip so far as uint8 BGR [T, size, size, 3]; `step_motion`
    holds, per added frame, the mean corner displacement of the frame-to-previous-frame
    homography in output pixels (size / short side of the source)."""

    def __init__(self, first: np.ndarray, matcher: FrameMatcher, options):
        self.matcher, self.options = matcher, options
        self.height, self.width = first.shape[:2]
        self._frames = [fit_frame(first.copy(), options.size)]
        self._background = self._frames[0]
        self._reference = self._previous = matcher.features(first)
        self._chained = np.eye(3)
        self._ones = np.full((self.height, self.width, 3), 255, np.uint8)
        self._kernel = np.ones((options.erode, options.erode), np.uint8)
        self._scale = float(options.size) / min(self.height, self.width)
        self.step_motion = []

    def __len__(self):
        return len(self._frames)

    def add(self, frame: np.ndarray) -> str:
        """Adds a frame -> ADDED, OUT_OF_FRAME (nothing of it lands in the clip's frame:
        the clip ends without it) or a MATCH_FAILURES reason (the clip must be dropped)."""
        features = self.matcher.features(frame)
        first = self.options.reference == "first"
        homography, failure = self.matcher.homography(
            features, self._reference if first else self._previous)
        if failure:
            return failure
        previous_chain = self._chained
        self._chained = homography if first else np.dot(self._chained, homography)
        step = np.linalg.solve(previous_chain, self._chained) if first else homography
        size = (self.width, self.height)
        mask = cv2.warpPerspective(self._ones, self._chained, size)
        mask = cv2.erode(mask // 255, self._kernel, iterations=1) * 255
        mask = fit_frame(mask, self.options.size).astype("float") / 255.0
        if not (mask > 0).any():
            return OUT_OF_FRAME
        warped = fit_frame(cv2.warpPerspective(frame, self._chained, size),
                           self.options.size)
        stabilised = self._background * (1 - mask) + warped * mask
        self._frames.append(stabilised)
        self._background = stabilised
        self._previous = features
        self.step_motion.append(corner_motion(step, self.width, self.height) * self._scale)
        return ADDED

    def frames(self) -> np.ndarray:
        stacked = np.stack([np.asarray(f, np.float64) for f in self._frames])
        return np.clip(np.rint(stacked), 0, 255).astype(np.uint8)
