package import Transport

/// An SDP endpoint's media half with no transport: every datagram it would
/// send is counted and dropped. For measuring the packet path without
/// sockets or SRTP (Benchmarks/ForwardingBenchmarks); never made by the server.
package final class CountingSession: RtpSession {
    package private(set) var datagramsSent = 0

    package override func sendDatagram(_ bytes: UnsafeRawBufferPointer, kind: MediaKindKey) { datagramsSent &+= 1 }
    package override func sendRTCPDatagram(_ bytes: UnsafeRawBufferPointer, kind: MediaKindKey?) {}
}
