"""The Beam path (DirectRunner) writes what the local runner writes (needs [beam])."""
from __future__ import annotations

import pytest

from tests.data.prepare import videos
from tests.data.prepare.test_corpus import OPTIONS, _inputs, _outputs
from vgan_tf.data.prepare import beam as beam_runner
from vgan_tf.data.prepare import corpus, prepare_videos

pytest.importorskip("apache_beam", reason="apache_beam is not installed (the [beam] extra)")


@pytest.mark.slow
def test_local_and_direct_runner_outputs_are_identical(tmp_path, capsys):
    folder = _inputs(str(tmp_path / "in"))
    videos.truncate(videos.shaky_video(f"{folder}/cut.avi", frames=40, seed=2), 0.5)
    local = prepare_videos(folder, str(tmp_path / "local"), OPTIONS, workers=1,
                           progress=False)
    local_err = capsys.readouterr().err
    beam = beam_runner.run_pipeline(folder, str(tmp_path / "beam"), OPTIONS,
                                    runner="DirectRunner")
    beam_err = capsys.readouterr().err
    total = local["total"]
    assert total["clips_written"] >= 4 and total["videos_failed"] == 4
    assert total["videos_truncated"] == 1 and local["truncated"][0]["frames_declared"] == 40
    assert corpus.without_run_keys(beam) == corpus.without_run_keys(local)
    assert beam["total"]["clips_written"] == total["clips_written"]
    assert _outputs(str(tmp_path / "beam")) == _outputs(str(tmp_path / "local"))
    problems = corpus.problem_lines(local)
    assert len(problems) == 5 and all(line in local_err for line in problems)
    assert all(line in beam_err for line in problems)  # the Beam path says the same
    # the Beam path resumes from the same markers: a second run changes nothing, and
    # counts the clips as the earlier run's
    again = beam_runner.run_pipeline(folder, str(tmp_path / "beam"), OPTIONS)
    assert corpus.without_run_keys(again) == corpus.without_run_keys(local)
    assert (again["total"]["clips_written"], again["total"]["clips_from_earlier_run"]) == \
        (0, total["clips_written"])
