import HTTPTypes
import Hummingbird

/// One file of the dashboard at `/ui`, served from the binary itself: an air-gapped box has no
/// CDN, and a gateway that reads nothing from disk to serve its page cannot be made to serve
/// something else. The three files are Swift raw string literals, written by hand, rather than
/// SwiftPM resources, whose generated accessor goes through Foundation's `Bundle` (the gateway's
/// modules keep Foundation out: see Package.swift) and whose files must be found beside the
/// binary at run time; and rather than a build plugin, which would add a tool to build for three
/// files that change with the code reading them.
struct DashboardAsset: Sendable {
    let path: String
    let contentType: String
    let bytes: ByteBuffer

    init(path: String, contentType: String, text: String) {
        self.path = path
        self.contentType = contentType
        bytes = ByteBuffer(string: text)
    }

    static let all = [html, script, style]

    /// No script, style, image or connection but the gateway's own (so no inline script, and no
    /// request to another origin even if a bug tried one), no plugins, no `<base>`, no form
    /// submission anywhere (the key field is never in a form), and never inside another page's
    /// frame (clickjacking the key field).
    static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    var response: Response {
        Response(status: .ok, headers: [
            .contentType: contentType,
            .contentSecurityPolicy: Self.contentSecurityPolicy,
            .xContentTypeOptions: "nosniff",
            // For browsers that predate frame-ancestors.
            Self.frameOptions: "DENY",
            Self.referrerPolicy: "no-referrer",
            .crossOriginResourcePolicy: "same-origin",
            // Revalidated on every load: a page and its script from two builds never mix.
            .cacheControl: "no-cache",
        ], body: .init(byteBuffer: bytes))
    }

    private static let frameOptions = HTTPField.Name("X-Frame-Options")!
    private static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
