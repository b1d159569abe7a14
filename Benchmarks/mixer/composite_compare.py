#!/usr/bin/env python3
"""The 720p composite, ours against GStreamer's, on the very same inputs.

Both read the same 640x480 VP8 streams (IVF files made here with
videotestsrc ! vp8enc, then ffmpeg -c copy) and make the same 2x2 grid at
1280x720, 30 fps, encoded with the same libvpx settings (realtime, CBR,
cpu-used -8, one thread, 1.5 Mbit/s):

- GStreamer: filesrc ! ivfparse ! vp8dec (per input) -> compositor -> vp8enc
  -> fakesink, what Kurento's Composite runs;
- ours: tessera-composite-replay, which packetizes each input frame as RTP,
  pushes it into a VideoCompositor (reassembly, decode) and ticks it
  (compose, encode, packetize).

CPU is user+sys of the whole process (/usr/bin/time). To leave out start-up
(GStreamer's plugin registry, our file reading), each case runs for N and
for 2N output frames, and the cost per frame is the difference over N:
what one more frame costs. Cases alternate between the two, REPS times;
medians are printed.

Cases: four moving inputs; one moving and three still (a meeting where one
person moves: the still ones send the same picture in every frame); one
moving and three nearly still (SMPTE bars, whose noise box changes in every
frame: a sixteenth of each picture moves); none moving.

usage: composite_compare.py --bin PATH [--frames N] [--reps R] [--json OUT]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

TMP = os.path.join(tempfile.gettempdir(), "tessera-composite-compare")

ENC = ("vp8enc deadline=1 cpu-used=-8 end-usage=cbr target-bitrate={bitrate} threads=1 "
       "lag-in-frames=0 error-resilient=default keyframe-max-dist=3000 min-quantizer=2 "
       "max-quantizer=56 undershoot=100 overshoot=15 buffer-initial-size=500 "
       "buffer-optimal-size=600 buffer-size=1000 dropframe-threshold=0 static-threshold=1 "
       "noise-sensitivity=0 token-partitions=0 max-intra-bitrate=900")
WIDTH, HEIGHT, BITRATE = 1280, 720, 1500000


def timed(cmd):
    """Runs cmd under /usr/bin/time; returns (cpu seconds, stdout)."""
    result = subprocess.run(["/usr/bin/time", "-f", "TIME %U %S"] + cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{result.stderr[-2000:]}")
    line = [l for l in result.stderr.splitlines() if l.startswith("TIME ")][-1]
    user, system = map(float, line.split()[1:])
    return user + system, result.stdout


def make_input(index, frames, still):
    """A 640x480 VP8 IVF file: moving ball or zone plate; `still`: "still", a picture
    that does not change (a still zone plate), or "nearly", SMPTE bars, whose
    noise box (a sixteenth of the picture) changes in every frame."""
    name = f"in{index}_{frames}{'_' + still if still else ''}"
    ivf = os.path.join(TMP, name + ".ivf")
    if os.path.exists(ivf):
        return ivf
    webm = os.path.join(TMP, name + ".webm")
    if still == "still":
        source = f"videotestsrc num-buffers={frames} pattern=zone-plate kx2={8 + index} ky2={9 + index} kt=0"
    elif still == "nearly":
        source = f"videotestsrc num-buffers={frames} pattern=smpte"
    elif index % 2 == 0:
        source = f"videotestsrc num-buffers={frames} pattern=ball background-color=0xff{index * 0x151515 & 0xffffff:06x}"
    else:
        source = f"videotestsrc num-buffers={frames} pattern=zone-plate kx2={10 + index} ky2={12 + index} kt={index}"
    encoder = ENC.format(bitrate=500000).replace("cpu-used=-8", "cpu-used=-6")
    timed(["gst-launch-1.0", "-q"] + f"{source} ! video/x-raw,width=640,height=480,framerate=30/1,format=I420 ! "
          f"{encoder} ! webmmux ! filesink location={webm}".split())
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", webm, "-c", "copy", "-f", "ivf", ivf], check=True)
    os.remove(webm)
    return ivf


def inputs(frames, moving, still="still"):
    return [make_input(i, frames, still=still if i >= moving else None) for i in range(4)]


def gstreamer(files):
    cell_w, cell_h = (WIDTH // 2) & ~1, (HEIGHT // 2) & ~1
    pads = " ".join(f"sink_{i}::xpos={(i % 2) * cell_w} sink_{i}::ypos={(i // 2) * cell_h} "
                    f"sink_{i}::width={cell_w} sink_{i}::height={cell_h}" for i in range(len(files)))
    decoders = " ".join(f"filesrc location={f} ! ivfparse ! vp8dec threads=1 ! mix.sink_{i}" for i, f in enumerate(files))
    pipeline = (f"{decoders} compositor name=mix background=black {pads} ! "
                f"video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate=30/1 ! "
                f"{ENC.format(bitrate=BITRATE)} ! fakesink sync=false")
    cpu, _ = timed(["gst-launch-1.0", "-q"] + pipeline.split())
    return cpu, ""


def ours(binary, files, active_map=True):
    cmd = [binary, "--width", str(WIDTH), "--height", str(HEIGHT), "--bitrate", str(BITRATE)]
    if not active_map:
        cmd.append("--no-active-map")
    return timed(cmd + files)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=".build/release/tessera-composite-replay")
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()
    os.makedirs(TMP, exist_ok=True)
    n = args.frames
    cases = [("4 moving", 4, None), ("1 moving, 3 still", 1, "still"),
             ("1 moving, 3 nearly", 1, "nearly"), ("none moving", 0, "still")]
    runners = [("GStreamer", gstreamer), ("ours", lambda f: ours(args.bin, f)),
               ("ours, no active map", lambda f: ours(args.bin, f, active_map=False))]
    results = {}
    for label, moving, still in cases:
        short, long = inputs(n, moving, still), inputs(2 * n, moving, still)
        per_frame = {name: [] for name, _ in runners}
        notes = {}
        for _ in range(args.reps):
            for name, run in runners:
                cpu_short, _ = run(short)
                cpu_long, out = run(long)
                per_frame[name].append((cpu_long - cpu_short) * 1000.0 / n)
                if out:
                    notes[name] = out.strip()
        results[label] = {name: statistics.median(values) for name, values in per_frame.items()}
        results[label]["runs"] = per_frame
        results[label]["notes"] = notes
    print(f"2x2 grid at {WIDTH}x{HEIGHT}, same inputs; CPU ms per output frame "
          f"((cost of {2 * n} frames - cost of {n}) / {n}), median of {args.reps}")
    print(f"{'case':<20} {'GStreamer':>10} {'ours':>8} {'ours, no map':>13} {'GStreamer/ours':>15}")
    for label, _, _ in cases:
        r = results[label]
        print(f"{label:<20} {r['GStreamer']:10.2f} {r['ours']:8.2f} {r['ours, no active map']:13.2f} "
              f"{r['GStreamer'] / r['ours']:15.2f}")
    for label, _, _ in cases:
        for name, note in results[label]["notes"].items():
            print(f"  {label}, {name}: {note}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
