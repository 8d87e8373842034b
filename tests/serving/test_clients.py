"""The gRPC and REST clients against the development server: outputs, metadata, limits."""
import threading

import numpy as np
import pytest

from tests.serving import probes
from vgan_tf import sampling, serving
from vgan_tf.serving import GrpcClient, RestClient, ServingError, api
from vgan_tf.viz import video_files

SIZES = probes.SIZES


def test_grpc_client_gets_the_exported_videos(served):
    expected = served.direct_outputs([4, 5])
    with GrpcClient(served.server.grpc_address) as client:
        outputs = client.generate([4, 5])
        assert set(outputs) == set(api.GENERATOR_SIGNATURES[api.SERVING_DEFAULT].outputs)
        for name in expected:
            assert outputs[name].dtype == np.uint8
            np.testing.assert_array_equal(outputs[name], expected[name])
        assert outputs["video"].shape == (2, SIZES.frames, SIZES.size, SIZES.size, 3)
        z = sampling.latents_for_seeds([5], SIZES.latent_dim).numpy()
        np.testing.assert_array_equal(client.generate_from_z(z)["video"],
                                      expected["video"][1:])
        floats = client.generate_from_z(z, api.GENERATE_FLOAT)
        np.testing.assert_allclose(floats["video"],
                                   served.generator(z, training=False).numpy(), atol=1e-5)
        metadata = client.metadata()
        assert metadata["serving_default"]["inputs"] == {"seed": ("DT_INT64", [-1])}
        assert {n for n in metadata if not n.startswith("__")} == set(api.GENERATOR_SIGNATURES)
    with GrpcClient(served.server.grpc_address, version=1) as client:
        np.testing.assert_array_equal(client.generate([4])["video"], expected["video"][:1])


@pytest.mark.slow
@pytest.mark.parametrize("form", ["inputs", "instances"])
def test_rest_client_both_forms(served, form):
    expected = served.direct_outputs([7, 8, 9])
    with RestClient(served.server.rest_url, form=form) as client:
        outputs = client.generate([7, 8, 9])
        for name in expected:
            assert outputs[name].dtype == np.uint8
            np.testing.assert_array_equal(outputs[name], expected[name])
        strips = client.generate_jpeg_strips([7])
        assert strips[0][:2] == b"\xff\xd8"
        assert (video_files.decode_strip(strips[0], SIZES.frames).shape
                == expected["video"][0].shape)
        assert client.generate_gifs([7])[0][:6] == b"GIF89a"
    probe = RestClient(served.server.rest_url, model_name="probe", form=form)
    means = probe.predict({"image_bytes": np.array([probes.png(200), probes.png(10)],
                                                   dtype=object)})
    np.testing.assert_allclose(means["mean"], [200.0, 10.0])


def test_make_client_picks_the_protocol(served):
    with serving.make_client(served.server.grpc_address) as client:
        assert isinstance(client, GrpcClient)
    with serving.make_client(served.server.rest_url) as client:
        assert isinstance(client, RestClient)
    with serving.make_client(served.server.rest_url[len("http://"):], "rest") as client:
        assert isinstance(client, RestClient)
        assert client.generate([1])["video"].shape[0] == 1
    with pytest.raises(ValueError, match="protocol"):
        serving.make_client(served.server.grpc_address, "http2")


def test_grpc_receive_limit_is_raised_and_explained(served):
    """The default client takes a 5 MiB response (gRPC's own default stops at 4 MiB); a
    client with a small limit is told which argument to raise."""
    rows = np.array([0], np.int64)
    with GrpcClient(served.server.grpc_address, model_name="big") as client:
        payload = client.predict({"rows": rows})["payload"]
        assert payload.shape == (1, probes.BIG_PAYLOAD_BYTES)
    with GrpcClient(served.server.grpc_address, model_name="big",
                    max_receive_bytes=4 << 20) as small:
        with pytest.raises(ServingError, match="max_receive_bytes") as error:
            small.predict({"rows": rows})
        assert error.value.code == "RESOURCE_EXHAUSTED"


def test_client_refuses_bad_batches_before_sending():
    client = RestClient("http://127.0.0.1:9", max_batch=16)  # nothing listens: never sent
    for seeds, message in (([], "at least 1"), (np.arange(17), "over the limit of 16"),
                           ([1.5], "integers"), ("abc", "integers"), ([[1], [2]], "flat")):
        with pytest.raises(ValueError, match=message):
            client.generate(seeds)
    for batch in (-1, 0, api.MAX_BATCH + 1, True, 2.0):
        with pytest.raises(ValueError, match="batch size"):
            serving.check_batch(batch)
    assert serving.check_batch(api.MAX_BATCH) == api.MAX_BATCH
    with pytest.raises(ValueError, match=r"z must be \[batch, latent_dim\]"):
        client.generate_from_z(np.zeros(SIZES.latent_dim))
    with pytest.raises(ValueError, match="batch dimension"):
        client.predict({"seed": np.int64(3)})


def test_concurrent_requests_are_batch_independent(served):
    expected = served.direct_outputs(np.arange(8))["video"]
    results, errors = {}, []

    def ask(seed):
        try:
            with GrpcClient(served.server.grpc_address) as client:
                results[seed] = client.generate([seed])["video"][0]
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=ask, args=(s,)) for s in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for seed in range(8):
        np.testing.assert_array_equal(results[seed], expected[seed])


def test_server_errors_come_back_as_serving_error(served):
    for client in (GrpcClient(served.server.grpc_address, model_name="nope"),
                   RestClient(served.server.rest_url, model_name="nope")):
        with client, pytest.raises(ServingError, match="Servable not found") as error:
            client.generate([1])
        assert error.value.code == "NOT_FOUND"
    with RestClient(served.server.rest_url) as rest:
        with pytest.raises(ServingError) as error:
            rest.predict({"seed": np.array([1.5])})
        assert error.value.code == "INVALID_ARGUMENT" and "int64" in error.value.message
    with GrpcClient(served.server.grpc_address, max_batch=10 ** 6) as client:
        with pytest.raises(ServingError) as error:  # past the client's check: the graph's
            client.generate(np.arange(api.MAX_BATCH + 1))
        assert error.value.code == "INVALID_ARGUMENT"
        assert f"batch size must be between 1 and {api.MAX_BATCH} rows" in error.value.message
