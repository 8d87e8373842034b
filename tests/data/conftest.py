"""Every data test keeps its verdicts (vgan_tf.data.verdicts: the full checks' cache, in
the user cache by default) in a directory of its own, so that no test reads another's."""
import pytest


@pytest.fixture(autouse=True)
def _own_verdict_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("VGAN_TF_CACHE_DIR", str(tmp_path_factory.mktemp("user_cache")))
