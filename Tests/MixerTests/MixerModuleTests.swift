import Mixer
import Testing

@Test func mixerModuleLinks() {
    #expect(MixerModule.self == MixerModule.self)
}
