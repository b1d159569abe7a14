#!/usr/bin/env python3
"""GStreamer baseline for the audio mix-minus, shaped like Kurento's Composite.

Kurento's audio mixer (kmsaudiomixer) gives every output its own `audiomixer`
fed by every *other* input, then one encoder per output. For N inputs this
script runs, in one gst-launch-1.0 process:

    N x  filesrc(Ogg/Opus, 10 s) ! oggdemux ! opusdec ! tee
    N x  audiomixer(the other N-1 tees, through queues) ! opusenc ! fakesink sync=false

so N Opus decodes, N mixes of N-1 inputs and N Opus encodes per 20 ms, as fast
as the CPU allows. It reports the CPU time (user+sys of the child) per 20 ms
of audio, and the same without the encoders ("no enc", the mixing and
decoding part). Nothing touches the network. Usage: gst_audio.py [N ...]
"""
import os
import resource
import statistics
import subprocess
import sys
import tempfile

SECONDS = int(os.environ.get("GST_AUDIO_SECONDS", "10"))
FRAMES = SECONDS * 50
BITRATE = 32000
COMPLEXITY = 5
REPEATS = int(os.environ.get("GST_AUDIO_REPEATS", "3"))


def run(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]}... failed: {proc.stderr[-500:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def make_inputs(directory, n):
    """One 10 s Ogg/Opus file per distinct tone (reused across inputs)."""
    files = []
    for i in range(min(n, 8)):
        path = os.path.join(directory, f"tone{i}.ogg")
        if not os.path.exists(path):
            run(["gst-launch-1.0", "-q", "audiotestsrc", f"num-buffers={FRAMES}", "samplesperbuffer=960",
                 f"freq={300 + 200 * i}", "volume=0.3", "!", "audio/x-raw,rate=48000,channels=1", "!",
                 "opusenc", f"bitrate={BITRATE}", "frame-size=20", "audio-type=voice", "!", "oggmux", "!",
                 "filesink", f"location={path}"])
        files.append(path)
    return files


def pipeline(files, n, encode=True):
    parts = []
    for i in range(n):
        parts += ["filesrc", f"location={files[i % len(files)]}", "!", "oggdemux", "!", "opusdec", "!",
                  "audio/x-raw,rate=48000,channels=1", "!", "tee", f"name=t{i}"]
    for i in range(n):
        parts += ["audiomixer", f"name=m{i}", "!", "audio/x-raw,rate=48000,channels=1", "!"]
        if encode:
            parts += ["opusenc", f"bitrate={BITRATE}", "frame-size=20", "audio-type=voice",
                      "bitrate-type=vbr", f"complexity={COMPLEXITY}", "!"]
        parts += ["fakesink", "sync=false"]
        for j in range(n):
            if j != i:
                parts += [f"t{j}.", "!", "queue", "max-size-buffers=4", "!", f"m{i}."]
    return ["gst-launch-1.0", "-q"] + parts


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [4, 16, 64]
    directory = tempfile.mkdtemp(prefix="gst_audio_")
    files = make_inputs(directory, max(sizes))
    print(f"GStreamer mix-minus (Kurento shape), {SECONDS} s of audio, opusenc {BITRATE} bit/s cx{COMPLEXITY}, "
          f"median of {REPEATS}")
    print(f"{'N':>5} | {'CPU s':>8} | {'ms CPU / 20 ms':>15} | {'us / participant / 20 ms':>25} | {'no enc: ms / 20 ms':>19}")
    print("-" * 86)
    for n in sizes:
        full = statistics.median(run(pipeline(files, n)) for _ in range(REPEATS))
        bare = statistics.median(run(pipeline(files, n, encode=False)) for _ in range(REPEATS))
        per_tick = full / FRAMES * 1000
        print(f"{n:>5} | {full:>8.2f} | {per_tick:>15.3f} | {per_tick * 1000 / n:>25.1f} | "
              f"{bare / FRAMES * 1000:>19.3f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
