/// The mixer module: codec owners (Opus, VP8, I420 frames), the audio
/// mix-minus (`AudioMixer`) and the video grid (`VideoCompositor`). Pure
/// types: no IO, no threads, no locks; the Elements layer drives them on
/// the mixer's worker threads with its own clock.
public enum MixerModule {}
