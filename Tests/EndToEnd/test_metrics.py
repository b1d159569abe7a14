"""/metrics during a real 3-peer MCU room: room, request, media, quality and
mixer series are there and move."""
import asyncio
import re

from conftest import Server
from room_client import Participant
from test_rooms import PEOPLE, check_mcu_view, close_all, room_url


def series(text, name):
    """Every sample of `name` (with any labels) as {labels: value}."""
    out = {}
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


def total(text, name, **labels):
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for k, v in series(text, name).items() if all(w in k for w in want))


def test_metrics_of_a_three_peer_mcu_room():
    server = Server(env_overrides={"TESSERA_MIXER_WIDTH": "320", "TESSERA_MIXER_HEIGHT": "240", "TESSERA_MIXER_FPS": "10"})
    try:
        async def run():
            url = room_url(server)
            people = [Participant(url, n, "metered", c, hz, mode="mcu") for n, c, hz in PEOPLE]
            for p in people:
                await p.join()
                await p.publish()
            await check_mcu_view(people)
            await asyncio.sleep(3)  # a few once-a-second reports
            text = server.metrics()
            print("\n".join(line for line in text.splitlines() if line.startswith("tessera_") and (
                "mixer" in line or "room" in line or "rtt" in line or "jitter" in line or "feedback" in line)))
            assert total(text, "tessera_rooms", mode="mcu") == 1
            assert total(text, "tessera_room_participants", mode="mcu") == 3
            assert total(text, "tessera_room_requests_total", method="joinRoom", outcome="ok") == 3
            assert total(text, "tessera_room_requests_total", method="publishVideo", outcome="ok") == 3
            assert total(text, "tessera_room_request_duration_seconds_count", method="receiveVideoFrom") >= 3
            assert total(text, "tessera_rtp_packets_total", direction="in", kind="audio") > 0
            assert total(text, "tessera_rtp_packets_total", direction="out", kind="video") > 0
            for kind in ("audio", "video"):
                assert total(text, "tessera_mixer_tick_seconds_count", kind=kind) > 0, kind
                assert total(text, "tessera_mixer_encode_seconds_count", kind=kind) > 0, kind
                assert total(text, "tessera_rtp_jitter_seconds_count", kind=kind) > 0, kind
            assert "tessera_mixer_late_ticks_total" in text
            assert total(text, "tessera_rtp_fraction_lost_count", direction="in") > 0
            assert total(text, "tessera_rtt_seconds_count") > 0
            # Feedback counters exist for each type and direction (whether a subscriber had to
            # ask for a keyframe depends on timing: no count is asserted).
            for t in ("nack", "pli", "fir"):
                for d in ("in", "out"):
                    assert f'tessera_rtcp_feedback_total{{type="{t}",direction="{d}"}}' in text, (t, d)
            await close_all(people, server)
        asyncio.run(run())
    finally:
        server.stop()
