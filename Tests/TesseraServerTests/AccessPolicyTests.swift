import Testing
@testable import TesseraServer

@Suite struct AccessPolicyTests {
    @Test func networksInCIDRForm() throws {
        let v4 = try #require(IPNetwork("10.1.0.0/16"))
        #expect(v4.contains(IPNetwork.bytes(of: "10.1.200.3")!))
        #expect(!v4.contains(IPNetwork.bytes(of: "10.2.0.1")!))
        #expect(v4.contains(IPNetwork.bytes(of: "::ffff:10.1.0.9")!))  // a dual-stack socket's view of an IPv4 peer
        #expect(!v4.contains(IPNetwork.bytes(of: "fd00::1")!))
        let odd = try #require(IPNetwork("192.168.1.128/25"))
        #expect(odd.contains(IPNetwork.bytes(of: "192.168.1.200")!) && !odd.contains(IPNetwork.bytes(of: "192.168.1.100")!))
        let v6 = try #require(IPNetwork("fd00::/8"))
        #expect(v6.contains(IPNetwork.bytes(of: "fd12:3456::1")!) && !v6.contains(IPNetwork.bytes(of: "fe80::1")!))
        #expect(IPNetwork("::1")?.description == "::1/128")
        #expect(IPNetwork("0.0.0.0/0")!.contains(IPNetwork.bytes(of: "8.8.8.8")!))
        for bad in ["", "10.0.0.0/33", "::/129", "example.com/8", "10.0.0/8", "10.0.0.0/-1", "10.0.0.0/x"] {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
    }

    @Test func kurentoIsForAllowedNetworksWithTheSecret() {
        var p = AccessPolicy()
        #expect(p.checkKurento(remote: "127.0.0.1", authorization: nil, querySecret: nil) == nil)
        #expect(p.checkKurento(remote: "::1", authorization: nil, querySecret: nil) == nil)
        #expect(p.checkKurento(remote: "192.0.2.2", authorization: nil, querySecret: nil)?.status == 403)
        #expect(p.checkKurento(remote: nil, authorization: nil, querySecret: nil)?.status == 403)
        p.kurentoAllow.append(IPNetwork("192.0.2.0/24")!)
        p.kurentoSecret = "s3cret"
        #expect(p.checkKurento(remote: "192.0.2.2", authorization: nil, querySecret: nil)?.status == 401)
        #expect(p.checkKurento(remote: "192.0.2.2", authorization: "Bearer wrong", querySecret: nil)?.status == 401)
        #expect(p.checkKurento(remote: "192.0.2.2", authorization: "Bearer s3cret", querySecret: nil) == nil)
        #expect(p.checkKurento(remote: "192.0.2.2", authorization: "bearer  s3cret ", querySecret: nil) == nil)
        #expect(p.checkKurento(remote: "192.0.2.2", authorization: nil, querySecret: "s3cret") == nil)
        #expect(p.checkKurento(remote: "192.0.2.2", authorization: nil, querySecret: "s3cre") != nil)
        // The address comes first: the right secret from a stranger's address is still refused.
        #expect(p.checkKurento(remote: "198.51.100.1", authorization: "Bearer s3cret", querySecret: nil)?.status == 403)
    }

    @Test func browsersOnlyFromAllowedOrigins() {
        var p = AccessPolicy()
        #expect(p.checkOrigin(nil, host: "meet.example.com") == nil)  // not a browser
        #expect(p.checkOrigin("http://127.0.0.1:5000", host: "127.0.0.1:8888") == nil)
        #expect(p.checkOrigin("http://localhost:3000", host: "10.0.0.1:8888") == nil)
        #expect(p.checkOrigin("http://[::1]:3000", host: "10.0.0.1:8888") == nil)
        #expect(p.checkOrigin("https://meet.example.com", host: "meet.example.com") == nil)  // its own, default port
        #expect(p.checkOrigin("http://meet.example.com:8888", host: "MEET.example.com:8888") == nil)
        #expect(p.checkOrigin("http://meet.example.com:8889", host: "meet.example.com:8888")?.status == 403)
        #expect(p.checkOrigin("https://evil.example", host: "meet.example.com")?.status == 403)
        #expect(p.checkOrigin("null", host: "meet.example.com")?.status == 403)
        // A WebSocket library's origin: its URL's scheme and host, no port (a cluster node's relay).
        #expect(p.checkOrigin("ws://10.77.0.1", host: "10.77.0.1:8888") == nil)
        #expect(p.checkOrigin("ws://10.77.0.9", host: "10.77.0.1:8888")?.status == 403)
        p.allowedOrigins = ["https://app.example.org"]
        #expect(p.checkOrigin("https://app.example.org", host: "meet.example.com") == nil)
        #expect(p.checkOrigin("https://evil.example", host: "meet.example.com") != nil)
        p.allowedOrigins = ["*"]
        #expect(p.checkOrigin("https://evil.example", host: "meet.example.com") == nil)
    }

    @Test func queryParametersOfTheRequestTarget() {
        #expect(UpgradeGateHandler.query("/kurento?secret=a%20b&x=1", "secret") == "a b")
        #expect(UpgradeGateHandler.query("/kurento?x=1&secret=", "secret") == "")
        #expect(UpgradeGateHandler.query("/kurento", "secret") == nil)
    }
}
