"""A third-party Kurento client (pyforkurento 0.1.7 from PyPI) against the real server."""
import pytest
from pyforkurento import client as kclient
from pyforkurento.exceptions import KurentoOperationException

# pyforkurento's listener thread raises when its socket closes (it parses the empty
# close frame as JSON); that is the client's bug, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


def test_pipeline_create_and_release(server, capsys):
    kurento = kclient.KurentoClient(server.url)
    kurento.ping()
    assert "pong" in capsys.readouterr().out
    pipeline = kurento.create_media_pipeline()
    assert pipeline.pipeline_id.endswith("_kurento.MediaPipeline")
    assert len(pipeline.session_id) == 36
    assert server.health()["objects"] == 1
    pipeline.dispose()
    assert server.health()["objects"] == 0
    kurento.close_connection()


def test_element_not_yet_available_is_a_clear_error(server):
    """Only MediaPipeline is creatable so far; pyforkurento raises the server's error."""
    kurento = kclient.KurentoClient(server.url)
    pipeline = kurento.create_media_pipeline()
    with pytest.raises(KurentoOperationException) as e:
        pipeline.add_endpoint("WebRtcEndpoint")
    assert "40108" in str(e.value)
    # The connection and the pipeline are still fine.
    pipeline.dispose()
    assert server.health()["objects"] == 0
    kurento.close_connection()
