import RTP
import Testing

/// The generator takes time as a plain `Duration`; the tests keep a fake
/// clock in milliseconds and never sleep.
@Suite("NACK generator")
struct NACKGeneratorTests {
    func ms(_ value: Int) -> Duration { .milliseconds(value) }

    @Test func requestsGapsThenRetriesEveryRTT() {
        var nack = NACKGenerator(rtt: .milliseconds(100))
        for seq: UInt16 in [1, 2, 5] { nack.received(seq, now: ms(0)) }
        #expect(nack.missingSequenceNumbers == [3, 4])
        #expect(nack.poll(now: ms(0)) == [3, 4])
        #expect(nack.poll(now: ms(50)).isEmpty)  // retransmission may still be in flight
        #expect(nack.poll(now: ms(100)) == [3, 4])
        nack.received(3, now: ms(120))  // the retransmission arrived
        #expect(nack.missingSequenceNumbers == [4])
        #expect(nack.poll(now: ms(200)) == [4])
        #expect(nack.takeKeyframeRequest() == false)
    }

    @Test func givesUpAfterMaxRetries() {
        var nack = NACKGenerator(configuration: .init(maxRetries: 3), rtt: .milliseconds(100))
        nack.received(10, now: ms(0))
        nack.received(12, now: ms(0))
        #expect(nack.poll(now: ms(0)) == [11])
        #expect(nack.poll(now: ms(100)) == [11])
        #expect(nack.poll(now: ms(200)) == [11])
        #expect(nack.poll(now: ms(300)).isEmpty)
        #expect(nack.missingSequenceNumbers.isEmpty)
        #expect(nack.takeKeyframeRequest() == true)
        #expect(nack.takeKeyframeRequest() == false)  // reported once
    }

    @Test func dropsPacketsOlderThanMaxAge() {
        var nack = NACKGenerator(configuration: .init(maxRetries: 100, maxAge: .milliseconds(250)))
        nack.received(0, now: ms(0))
        nack.received(2, now: ms(0))
        #expect(nack.poll(now: ms(0)) == [1])
        #expect(nack.poll(now: ms(100)) == [1])
        #expect(nack.poll(now: ms(200)) == [1])
        #expect(nack.poll(now: ms(300)).isEmpty)
        #expect(nack.missingSequenceNumbers.isEmpty)
    }

    @Test func boundedListDropsOldest() {
        var nack = NACKGenerator(configuration: .init(maxListSize: 5))
        nack.received(0, now: ms(0))
        nack.received(4, now: ms(0))
        #expect(nack.missingSequenceNumbers == [1, 2, 3])
        nack.received(10, now: ms(1))
        #expect(nack.missingSequenceNumbers == [5, 6, 7, 8, 9])
        #expect(nack.takeKeyframeRequest() == true)
    }

    @Test func hugeGapAsksForKeyframeInstead() {
        var nack = NACKGenerator(configuration: .init(maxListSize: 50))
        nack.received(0, now: ms(0))
        nack.received(2, now: ms(0))
        nack.received(200, now: ms(0))
        #expect(nack.missingSequenceNumbers.isEmpty)
        #expect(nack.takeKeyframeRequest() == true)
        nack.received(202, now: ms(1))
        #expect(nack.missingSequenceNumbers == [201])
    }

    @Test func dropsBySequenceAge() {
        var nack = NACKGenerator(configuration: .init(maxSequenceAge: 100))
        nack.received(0, now: ms(0))
        nack.received(2, now: ms(0))
        nack.received(150, now: ms(0))
        #expect(nack.missingSequenceNumbers == Array(50...149))
        #expect(nack.takeKeyframeRequest() == true)
    }

    @Test func acrossTheWrap() {
        var nack = NACKGenerator()
        nack.received(65534, now: ms(0))
        nack.received(1, now: ms(0))
        #expect(nack.poll(now: ms(0)) == [65535, 0])
        nack.received(0, now: ms(10))
        #expect(nack.missingSequenceNumbers == [65535])
    }

    @Test func initialDelayLetsReorderingSettle() {
        var nack = NACKGenerator(configuration: .init(initialDelay: .milliseconds(20)))
        nack.received(1, now: ms(0))
        nack.received(3, now: ms(0))
        nack.received(5, now: ms(0))
        nack.received(2, now: ms(5))  // merely reordered
        #expect(nack.poll(now: ms(10)).isEmpty)
        #expect(nack.poll(now: ms(20)) == [4])
    }

    @Test func retryIntervalFollowsRTTWithAFloor() {
        var nack = NACKGenerator(configuration: .init(minRetryInterval: .milliseconds(5)), rtt: .milliseconds(30))
        nack.received(0, now: ms(0))
        nack.received(2, now: ms(0))
        #expect(nack.poll(now: ms(0)) == [1])
        #expect(nack.poll(now: ms(29)).isEmpty)
        #expect(nack.poll(now: ms(30)) == [1])
        nack.rtt = .milliseconds(1)
        #expect(nack.poll(now: ms(34)).isEmpty)
        #expect(nack.poll(now: ms(35)) == [1])
    }

    @Test func duplicatesAndOldPacketsAreHarmless() {
        var nack = NACKGenerator()
        nack.received(100, now: ms(0))
        nack.received(100, now: ms(0))
        nack.received(50, now: ms(0))
        #expect(nack.missingSequenceNumbers.isEmpty)
        nack.reset()
        nack.received(7, now: ms(0))
        nack.received(9, now: ms(0))
        #expect(nack.missingSequenceNumbers == [8])
    }

    @Test func tellsNewAndRepairedPacketsFromSecondCopies() {
        var nack = NACKGenerator()
        // The first; a newer one (11 and 12 missing); a repair; its second copy;
        // an old packet sent again as a probe; the newest again.
        let taken = [10, 13, 12, 12, 10, 13].map { nack.received(UInt16($0), now: ms(0)) }
        #expect(taken == [true, true, true, false, false, false])
        #expect(nack.missingSequenceNumbers == [11])
        let later = [11, 14].map { nack.received(UInt16($0), now: ms(1)) }
        #expect(later == [true, true])
    }

    @Test func feedsAGenericNACK() throws {
        var nack = NACKGenerator()
        for seq: UInt16 in [10, 12, 13, 20] { nack.received(seq, now: ms(0)) }
        let lost = nack.poll(now: ms(0))
        let packet = GenericNACK(senderSSRC: 1, mediaSSRC: 2, lostSequenceNumbers: lost)
        #expect(try GenericNACK.parse(packet.serialized()).lostSequenceNumbers == [11, 14, 15, 16, 17, 18, 19])
        #expect(GenericNACK.items(for: lost).count == 1)
    }
}
