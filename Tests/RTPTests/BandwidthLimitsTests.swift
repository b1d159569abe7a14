import RTP
import Testing

@Suite("Video bandwidth limits and the REMB towards a publisher")
struct BandwidthLimitsTests {
    @Test func kurentoDefaults() {
        let l = VideoBandwidthLimits()
        #expect(l.minSendKbps == 100 && l.maxSendKbps == 500 && l.minRecvKbps == 0 && l.maxRecvKbps == 0)
        #expect(REMBParameters().rembOnConnect == 300_000)
    }

    @Test func viewerEstimateIsClampedToItsSendLimits() {
        let l = VideoBandwidthLimits()
        #expect(l.viewerEstimate(2_000_000) == 500_000)
        #expect(l.viewerEstimate(50_000) == 100_000)
        #expect(l.viewerEstimate(321_000) == 321_000)
        let unlimited = VideoBandwidthLimits(minSendKbps: 0, maxSendKbps: 0)
        #expect(unlimited.viewerEstimate(7_000_000) == 7_000_000)
        #expect(unlimited.viewerEstimate(10_000) == 10_000)
        // Crossed bounds: the maximum wins.
        #expect(VideoBandwidthLimits(minSendKbps: 800, maxSendKbps: 300).viewerEstimate(100_000) == 300_000)
    }

    @Test func publisherREMBIsClampedToItsRecvLimitsWithA30kFloor() {
        #expect(VideoBandwidthLimits().publisherREMB(2_500_000) == 2_500_000)
        #expect(VideoBandwidthLimits().publisherREMB(10_000) == 30_000)
        #expect(VideoBandwidthLimits(maxRecvKbps: 300).publisherREMB(2_500_000) == 300_000)
        #expect(VideoBandwidthLimits(minRecvKbps: 600).publisherREMB(200_000) == 600_000)
        #expect(VideoBandwidthLimits(minRecvKbps: 10).publisherREMB(1_000) == 30_000)
    }

    @Test func slowestViewerDecidesAfterItsOwnClamp() {
        let ceiling: UInt64 = 2_500_000
        #expect(VideoBandwidthLimits.aggregate([], ceiling: ceiling) == ceiling)
        let fast = VideoBandwidthLimits(minSendKbps: 0, maxSendKbps: 0)
        let capped = VideoBandwidthLimits(maxSendKbps: 200)
        let estimates = [fast.viewerEstimate(4_000_000), capped.viewerEstimate(900_000)]
        #expect(VideoBandwidthLimits.aggregate(estimates, ceiling: ceiling) == 200_000)
        // An unlimited viewer is not held to the ceiling: its own limits bound it.
        #expect(VideoBandwidthLimits.aggregate([fast.viewerEstimate(4_000_000)], ceiling: ceiling) == 4_000_000)
        // Then the publisher's own maximum.
        let publisher = VideoBandwidthLimits(maxRecvKbps: 150)
        #expect(publisher.publisherREMB(VideoBandwidthLimits.aggregate(estimates, ceiling: ceiling)) == 150_000)
    }
}
