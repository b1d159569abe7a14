import CGStreamer
import CNice
import COpenSSL
import COpus
import CSRTP
import CVPX
import CYUV
import Testing

/// One real call into each C library the server links, so a missing or
/// broken system package fails here, loudly, with the library's name.
struct CLibraryTests {
    @Test func opus() {
        let version = String(cString: opus_get_version_string())
        #expect(version.hasPrefix("libopus"))
        #expect(opus_encoder_get_size(2) > 0)
    }

    @Test func vpx() {
        #expect(vpx_codec_version() >= (1 << 16) | (8 << 8))  // libvpx 1.8 or later
        let iface = String(cString: vpx_codec_iface_name(vpx_codec_vp8_cx()))
        #expect(iface.contains("VP8"))
    }

    @Test func nice() {
        let context = g_main_context_new()
        defer { g_main_context_unref(context) }
        let agent = nice_agent_new(context, NICE_COMPATIBILITY_RFC5245)
        #expect(agent != nil)
        g_object_unref(UnsafeMutableRawPointer(agent))
    }

    @Test func srtp() {
        // No srtp_init here: the library's global init belongs to SRTPSession (once per process).
        #expect(String(cString: srtp_get_version_string()).contains("libsrtp2"))
        var policy = srtp_crypto_policy_t()
        srtp_crypto_policy_set_rtp_default(&policy)
        #expect(policy.cipher_key_len == 30)  // AES-128 key + 112-bit salt
    }

    @Test func openssl() {
        let version = String(cString: OpenSSL_version(OPENSSL_VERSION))
        #expect(version.hasPrefix("OpenSSL 3"))
        #expect(DTLS_method() != nil)
    }

    @Test func gstreamer() {
        gst_init(nil, nil)
        var major: guint = 0, minor: guint = 0, micro: guint = 0, nano: guint = 0
        gst_version(&major, &minor, &micro, &nano)
        #expect(major == 1 && minor >= 20)
        // appsrc/appsink come from gst-plugins-base's app library.
        #expect(gst_app_src_get_type() != 0)
        #expect(gst_discoverer_get_type() != 0)  // pbutils
    }

    @Test func yuv() {
        // Scale a 4x4 grey I420 frame to 2x2 and check the value survives.
        var src = [UInt8](repeating: 128, count: 16 + 4 + 4)
        var dst = [UInt8](repeating: 0, count: 4 + 1 + 1)
        let r = src.withUnsafeMutableBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                I420Scale(s.baseAddress, 4, s.baseAddress! + 16, 2, s.baseAddress! + 20, 2, 4, 4,
                          d.baseAddress, 2, d.baseAddress! + 4, 1, d.baseAddress! + 5, 1, 2, 2, kFilterBox)
            }
        }
        #expect(r == 0)
        #expect(dst == [128, 128, 128, 128, 128, 128])
    }
}
