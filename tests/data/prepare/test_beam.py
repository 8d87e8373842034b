"""The Beam path (DirectRunner) writes what the local runner writes (needs [beam])."""
from __future__ import annotations

import pytest

from tests.data.prepare.test_corpus import OPTIONS, _inputs, _outputs
from vgan_tf.data.prepare import beam as beam_runner
from vgan_tf.data.prepare import corpus, prepare_videos

pytest.importorskip("apache_beam", reason="apache_beam is not installed (the [beam] extra)")


def test_local_and_direct_runner_outputs_are_identical(tmp_path):
    folder = _inputs(str(tmp_path / "in"))
    local = prepare_videos(folder, str(tmp_path / "local"), OPTIONS, workers=1,
                           progress=False)
    beam = beam_runner.run_pipeline(folder, str(tmp_path / "beam"), OPTIONS,
                                    runner="DirectRunner")
    assert local["total"]["clips_written"] == 3 and local["total"]["videos_failed"] == 4
    assert corpus.without_timings(beam) == corpus.without_timings(local)
    assert _outputs(str(tmp_path / "beam")) == _outputs(str(tmp_path / "local"))
    # the Beam path resumes from the same markers: a second run changes nothing
    again = beam_runner.run_pipeline(folder, str(tmp_path / "beam"), OPTIONS)
    assert corpus.without_timings(again) == corpus.without_timings(local)
