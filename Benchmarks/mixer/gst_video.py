#!/usr/bin/env python3
"""GStreamer baseline of the video composite (what Kurento's Composite runs):
N VP8 inputs -> vp8dec each -> compositor (grid) -> vp8enc -> fakesink, as fast
as possible (sync=false), CPU time (user+sys of gst-launch-1.0, /usr/bin/time)
per output frame.

usage: gst_video.py [FRAMES] [REPS]     (defaults 300, 3)

Inputs are WebM files made here with videotestsrc ! vp8enc ! webmmux at
640x480 (moving content: ball and zone-plate patterns), kept in a temp dir.
The output encoder uses the compositor's settings (realtime, CBR, cpu-used
-8, 1 thread, same rate control) so the difference is GStreamer's pipeline,
not libvpx. Nothing touches the network.
"""
import os
import statistics
import subprocess
import sys
import tempfile

FRAMES = int(sys.argv[1]) if len(sys.argv) > 1 else 300
REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
TMP = os.path.join(tempfile.gettempdir(), "tessera-gst-video")
os.makedirs(TMP, exist_ok=True)

ENC = ("vp8enc deadline=1 cpu-used=-8 end-usage=cbr target-bitrate={bitrate} threads=1 "
       "lag-in-frames=0 error-resilient=default keyframe-max-dist=3000 min-quantizer=2 "
       "max-quantizer=56 undershoot=100 overshoot=15 buffer-initial-size=500 "
       "buffer-optimal-size=600 buffer-size=1000 dropframe-threshold=0 static-threshold=1 "
       "noise-sensitivity=0 token-partitions=0 max-intra-bitrate=900")


def gst(pipeline):
    """Runs gst-launch-1.0 under /usr/bin/time; returns (cpu seconds, wall seconds)."""
    cmd = ["/usr/bin/time", "-f", "TIME %U %S %e", "gst-launch-1.0", "-q"] + pipeline.split()
    result = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"pipeline failed: {pipeline}\n{result.stderr}")
    line = [l for l in result.stderr.splitlines() if l.startswith("TIME ")][-1]
    user, system, wall = map(float, line.split()[1:])
    return user + system, wall


def make_input(index, still=False):
    path = os.path.join(TMP, f"in{index}_{FRAMES}{'_still' if still else ''}.webm")
    if not os.path.exists(path):
        if still:
            # A participant who does not move: the same picture in every frame.
            source = f"videotestsrc num-buffers={FRAMES} pattern=smpte"
        elif index % 2 == 0:
            source = f"videotestsrc num-buffers={FRAMES} pattern=ball background-color=0xff{index * 0x151515 & 0xffffff:06x}"
        else:
            source = f"videotestsrc num-buffers={FRAMES} pattern=zone-plate kx2={10 + index} ky2={12 + index} kt={index}"
        gst(f"{source} ! video/x-raw,width=640,height=480,framerate=30/1,format=I420 ! "
            f"{ENC.format(bitrate=500000).replace('cpu-used=-8', 'cpu-used=-6')} ! webmmux ! filesink location={path}")
    return path


def decoders(n, sink="mix.sink_{i}", moving=None):
    """`moving`: how many inputs move (the others are still), all when None."""
    moving = n if moving is None else moving
    return " ".join(f"filesrc location={make_input(i, still=i >= moving)} ! matroskademux ! vp8dec threads=1 ! " + sink.format(i=i)
                    for i in range(n))


def mixer(n, width, height):
    columns = 2 if n == 4 else 3
    cell_w, cell_h = (width // columns) & ~1, (height // columns) & ~1
    pads = " ".join(f"sink_{i}::xpos={(i % columns) * cell_w} sink_{i}::ypos={(i // columns) * cell_h} "
                    f"sink_{i}::width={cell_w} sink_{i}::height={cell_h}" for i in range(n))
    return (f"compositor name=mix background=black {pads} ! "
            f"video/x-raw,format=I420,width={width},height={height},framerate=30/1")


def median_cpu(pipeline):
    runs = [gst(pipeline) for _ in range(REPS)]
    return statistics.median(c for c, _ in runs), statistics.median(w for _, w in runs)


def main():
    rows = []
    for n in (4, 9):
        decode_cpu, _ = median_cpu(decoders(n, sink="fakesink sync=false"))
        for width, height in ((1280, 720), (640, 480)):
            bitrate = 1500000 if width >= 1280 else 800000
            compose_cpu, _ = median_cpu(f"{decoders(n)} {mixer(n, width, height)} ! fakesink sync=false")
            full_cpu, full_wall = median_cpu(
                f"{decoders(n)} {mixer(n, width, height)} ! {ENC.format(bitrate=bitrate)} ! fakesink sync=false")
            rows.append((n, f"{width}x{height}", full_cpu, full_wall, decode_cpu, compose_cpu))
    # A 2x2 720p meeting where one person moves and three sit still.
    decode_cpu, _ = median_cpu(decoders(4, sink="fakesink sync=false", moving=1))
    compose_cpu, _ = median_cpu(f"{decoders(4, moving=1)} {mixer(4, 1280, 720)} ! fakesink sync=false")
    full_cpu, full_wall = median_cpu(
        f"{decoders(4, moving=1)} {mixer(4, 1280, 720)} ! {ENC.format(bitrate=1500000)} ! fakesink sync=false")
    rows.append(("4 (1 moving)", "1280x720", full_cpu, full_wall, decode_cpu, compose_cpu))
    print(f"GStreamer composite, {FRAMES} output frames, median of {REPS} runs, CPU ms per output frame")
    print(f"{'inputs':>6} {'output':>9} {'total':>8} {'decode':>8} {'compose':>8} {'encode':>8} {'wall':>8}")
    for n, out, full, wall, dec, comp in rows:
        per = 1000.0 / FRAMES
        print(f"{n!s:>6} {out:>9} {full * per:8.2f} {dec * per:8.2f} {(comp - dec) * per:8.2f} "
              f"{(full - comp) * per:8.2f} {wall * per:8.2f}")
    print("decode = N inputs demuxed and decoded into fakesinks; compose = the grid "
          "compositor minus that; encode = vp8enc minus the compose pipeline; wall = ms per frame of the full pipeline")


if __name__ == "__main__":
    main()
