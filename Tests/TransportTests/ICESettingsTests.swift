import Testing
import Transport

@Suite struct ICESettingsTests {
    let host = "candidate:1 1 UDP 2013266431 10.0.0.5 50000 typ host"
    let host6 = "candidate:2 1 UDP 2013266431 fd00::5 50002 typ host"
    let srflx = "candidate:3 1 UDP 1677721855 203.0.113.9 61000 typ srflx raddr 10.0.0.5 rport 50000"

    @Test func externalAddressReplacesHostCandidatesOfItsFamily() {
        var s = ICESettings()
        #expect(s.advertised(host) == host)
        s.externalIPv4 = "198.51.100.7"
        #expect(s.advertised(host) == "candidate:1 1 UDP 2013266431 198.51.100.7 50000 typ host")
        #expect(s.advertised(host6) == host6)
        #expect(s.advertised(srflx) == srflx)
        s.externalIPv6 = "2001:db8::7"
        #expect(s.advertised(host6) == "candidate:2 1 UDP 2013266431 2001:db8::7 50002 typ host")
    }

    @Test func interfaceNamesResolveToTheirAddresses() throws {
        let lo = ICESettings.addresses(ofInterfaces: ["lo"])
        #expect(lo.contains("127.0.0.1"))
        #expect(lo.allSatisfy { $0.hasPrefix("127.") || $0 == "::1" })
        #expect(ICESettings.addresses(ofInterfaces: ["no-such-interface0"]).isEmpty)
        var s = ICESettings()
        s.hostAddresses = ["10.1.2.3"]
        #expect(try s.gatherAddresses() == ["10.1.2.3"])
        s.networkInterfaces = ["lo"]
        #expect(try s.gatherAddresses() == lo)
        s.networkInterfaces = ["no-such-interface0"]
        #expect(throws: ICEError.self) { try s.gatherAddresses() }
    }

    @Test func addressLiteralsAndTURNURLs() throws {
        #expect(ICESettings.isIPAddress("198.51.100.7", v6: false))
        #expect(!ICESettings.isIPAddress("stun.example.org", v6: false))
        #expect(ICESettings.isIPAddress("2001:db8::1", v6: true))
        let t = try #require(ICEAgent.parseTURN("user:pa:ss@127.0.0.1:3478?transport=tcp"))
        #expect(t.user == "user" && t.pass == "pa:ss" && t.host == "127.0.0.1" && t.port == 3478)
        #expect(ICEAgent.parseTURN("127.0.0.1:3478") == nil)
    }
}
