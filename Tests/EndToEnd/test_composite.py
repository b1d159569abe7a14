"""Composite + HubPort with real peers (aiortc): three participants each send
their own colour and tone into their HubPort and receive that port's output.
Every one must see all three tiles and hear the other two tones, not its own."""
import asyncio

import numpy as np

from conftest import Client
from media import colour_close, colour_present, join_hub, tone_level, wait_for

PEOPLE = [
    ("red", (220, 40, 40), 300),
    ("green", (40, 200, 60), 500),
    ("blue", (40, 60, 220), 700),
]


def tile_colours(rgb, cols=2, rows=2):
    """Mean colour around the centre of each grid cell, row by row."""
    h, w, _ = rgb.shape
    out = []
    for r in range(rows):
        for c in range(cols):
            cy, cx = (2 * r + 1) * h // (2 * rows), (2 * c + 1) * w // (2 * cols)
            patch = rgb[cy - h // 16: cy + h // 16, cx - w // 16: cx + w // 16].reshape(-1, 3)
            out.append(tuple(int(v) for v in patch.mean(axis=0)))
    return out



def test_composite_three_peers_see_all_tiles_and_hear_the_others(server):
    async def run():
        kurento = Client(server.url)
        p = kurento.result("create", {"type": "MediaPipeline"})["value"]
        # A small canvas keeps three aiortc decoders within this machine's two cores.
        composite = kurento.result("create", {"type": "Composite", "constructorParams": {
            "mediaPipeline": p, "width": 640, "height": 360, "framerate": 15}})["value"]
        peers = []
        for name, colour, hz in PEOPLE:
            w, _, pc, rec = await join_hub(kurento, p, composite, colour, hz)
            peers.append((name, colour, hz, w, pc, rec))

        def all_tiles_seen(rec):
            return rec.last_rgb is not None and all(colour_present(rec.last_rgb, c) for _, c, _ in PEOPLE)

        for name, _, _, _, _, rec in peers:
            ok = await wait_for(lambda: all_tiles_seen(rec) and len(rec.audio) >= 96000, 25)
            print(name, "frames", rec.video_frames, "audio", len(rec.audio),
                  "tiles", None if rec.last_rgb is None else tile_colours(rec.last_rgb))
            assert ok, f"{name}: frames={rec.video_frames} tiles={None if rec.last_rgb is None else tile_colours(rec.last_rgb)}"
        await asyncio.sleep(1.0)  # a full second of steady mixed audio for every peer

        for name, colour, hz, _, _, rec in peers:
            frame = rec.last_rgb
            assert frame.shape[0] == 360 and frame.shape[1] == 640, frame.shape
            tiles = tile_colours(frame)
            # Grid of three: two columns; the first two ports fill the top row in creation order.
            assert colour_close(tiles[0], PEOPLE[0][1]), tiles
            assert colour_close(tiles[1], PEOPLE[1][1]), tiles
            assert colour_present(frame[frame.shape[0] // 2:], PEOPLE[2][1]), tiles
            audio = rec.audio[-48000:]
            levels = {other_hz: tone_level(audio, other_hz) for _, _, other_hz in PEOPLE}
            print(name, "hears", {k: round(v, 3) for k, v in levels.items()})
            for _, _, other_hz in PEOPLE:
                if other_hz == hz:
                    assert levels[other_hz] < 0.05, f"{name} hears its own {hz} Hz tone: {levels}"
                else:
                    assert levels[other_hz] > 0.3, f"{name} does not hear {other_hz} Hz: {levels}"
            assert np.abs(audio).max() < 32767 * 0.99  # the mix is not clipping

        # Releasing the composite releases its ports; the peers' endpoints keep serving.
        kurento.result("release", {"object": composite})
        for _, _, _, w, pc, rec in peers:
            rec.stop()
            await pc.close()
        kurento.result("release", {"object": p})
        kurento.close()

    asyncio.run(run())


def test_composite_bad_input_is_refused_cleanly(server):
    kurento = Client(server.url)
    p = kurento.result("create", {"type": "MediaPipeline"})["value"]
    error = kurento.error("create", {"type": "Composite", "constructorParams": {"mediaPipeline": p, "width": 100000}})
    assert error["code"] == 40001 and "width" in error["message"], error
    error = kurento.error("create", {"type": "Composite", "constructorParams": {"mediaPipeline": p, "framerate": 0}})
    assert error["code"] == 40001 and "framerate" in error["message"], error
    error = kurento.error("create", {"type": "Composite", "constructorParams": {"mediaPipeline": "nope"}})
    assert error["data"]["type"], error
    composite = kurento.result("create", {"type": "Composite", "constructorParams": {"mediaPipeline": p}})["value"]
    ports = [kurento.result("create", {"type": "HubPort", "constructorParams": {"hub": composite}})["value"] for _ in range(3)]
    # Many create/release cycles of ports and composites leave nothing behind.
    for _ in range(50):
        c = kurento.result("create", {"type": "Composite", "constructorParams": {"mediaPipeline": p, "width": 320, "height": 240}})["value"]
        hp = kurento.result("create", {"type": "HubPort", "constructorParams": {"hub": c}})["value"]
        kurento.result("release", {"object": hp})
        kurento.result("release", {"object": c})
    assert kurento.result("invoke", {"object": p, "operation": "getChildren"})["value"] == [composite]
    children = kurento.result("invoke", {"object": composite, "operation": "getChildren"})["value"]
    assert sorted(children) == sorted(ports), children
    assert kurento.result("ping", {"interval": 1000})["value"] == "pong"
    kurento.close()
