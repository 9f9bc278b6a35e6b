import HTTPTypes
import Hummingbird
import SwitchyardPolicy
import SwitchyardWire

/// Keeps web pages from using the gateway through the browser of someone who can reach it: the
/// class of Ollama's CVE-2024-28224. A page anywhere on the web can make a browser send requests
/// to `http://127.0.0.1:8080`, and with `auth: off` (the quick start, holding the operator's cloud
/// keys) nothing else stands in its way. Two checks, on every request:
///
/// - **Host.** DNS rebinding points a name the attacker owns at 127.0.0.1: the page is then
///   same-origin with the gateway and reads every answer, but its requests carry that name in
///   `Host`. Accepted: `localhost`, any IP address (a page whose origin is an address was served by
///   that address itself, and the one page the gateway serves is its own), the listening address, and
///   `server.allowed_hosts`. Anything else is 421.
/// - **Origin.** Browsers send `Origin` with every cross-origin request and every POST. The
///   gateway serves one page, its dashboard at `/ui`, and that page only reads: a GET or HEAD
///   whose `Origin` is exactly the scheme and `Host` it was sent to, on a host accepted by name or
///   address (never through the `allowed_hosts` wildcard, which a DNS-rebinding page's name
///   passes), comes from that page, and passes. Any other `Origin` is a page somewhere else:
///   refused with 403 unless listed in `server.allowed_origins`, which get CORS answers
///   (preflights included) and nothing more: no credentials, no wildcard.
///
/// A form or a `fetch` without a preflight can still send a body with no `Origin` from an old
/// browser; `JSONContentType` refuses the content types they can send.
struct BrowserGuard: RouterMiddleware {
    typealias Context = GatewayRequestContext
    /// Lower-case host names accepted besides `localhost` and IP addresses; nil accepts any.
    let hosts: Set<String>?
    /// The names accepted by name (the listening address, `allowed_hosts` but its wildcard, `localhost`).
    let namedHosts: Set<String>
    let origins: Set<String>

    init(settings: ServerSettings, listeningOn host: String, alsoAllowing deployment: [String] = []) {
        let names = Set((settings.allowedHosts + deployment + [host]).map(Self.normalised))
        namedHosts = names.subtracting(["*"]).union(["localhost"])
        hosts = names.contains("*") ? nil : namedHosts
        origins = Set(settings.allowedOrigins)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let refusal = refusal(request) { return FrontEnd(path: request.uri.path).errorResponse(refusal) }
        guard let origin = request.headers[.origin], !isOwnPageRead(request, origin: origin) else { return try await next(request, context) }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil { return preflight(request, origin: origin) }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.accessControlExposeHeaders] = "*"
        response.headers.append(HTTPField(name: .vary, value: "Origin"))
        return response
    }

    /// Why the request is refused, if it is: a host name the gateway does not answer to, or a page's origin.
    private func refusal(_ request: Request) -> GatewayError? {
        if let problem = hostProblem(request) { return problem }
        if let origin = request.headers[.origin], !origins.contains(origin), !isOwnPageRead(request, origin: origin) {
            return GatewayError(status: 403, code: "origin_not_allowed",
                                message: "Requests from web pages are refused: the origin \(origin) is not in the gateway's `server.allowed_origins`.")
        }
        return nil
    }

    /// A read by the gateway's own page: GET or HEAD, from the origin the request was sent to,
    /// on a host that is an address or accepted by name. (The page at `http://HOST:PORT/ui` fetching
    /// `http://HOST:PORT/…` sends `Origin: http://HOST:PORT` and `Host: HOST:PORT`; behind a TLS
    /// proxy the scheme is https.)
    private func isOwnPageRead(_ request: Request, origin: String) -> Bool {
        guard request.method == .get || request.method == .head, let authority = request.head.authority else { return false }
        let host = authority.lowercased()
        guard origin == "http://" + host || origin == "https://" + host else { return false }
        let name = Self.normalised(Self.hostname(host))
        return namedHosts.contains(name) || ListenAddress.isIPLiteral(name)
    }

    private static let secondHost = HTTPField.Name("Host")!

    private func hostProblem(_ request: Request) -> GatewayError? {
        // A second Host header (the first became the authority): which one a proxy in front
        // read is anyone's guess.
        guard !request.headers.contains(Self.secondHost) else {
            return GatewayError.invalidRequest("The request has more than one Host header.", code: "invalid_host")
        }
        guard let hosts, let authority = request.head.authority else { return nil }
        let name = Self.normalised(Self.hostname(authority))
        guard !hosts.contains(name), !ListenAddress.isIPLiteral(name) else { return nil }
        return GatewayError(status: 421, code: "host_not_allowed",
                           message: "This gateway does not answer to the host name '\(name)': add it to `server.allowed_hosts` if it is meant to.")
    }

    /// The answer to a CORS preflight of an allowed origin: the methods the gateway has, and the
    /// request headers the page asked for (the SDKs send their own, and `Authorization` is never
    /// covered by a wildcard). No credentials: callers authenticate with their key.
    private func preflight(_ request: Request, origin: String) -> Response {
        var headers: HTTPFields = [
            .accessControlAllowOrigin: origin,
            .accessControlAllowMethods: "GET, POST, DELETE",
            .accessControlMaxAge: "600",
            .vary: "Origin, Access-Control-Request-Headers",
        ]
        if let asked = request.headers[.accessControlRequestHeaders],
           asked.unicodeScalars.allSatisfy({ HeaderSyntax.isTokenCharacter($0) || $0 == "," || $0 == " " }) {
            headers[.accessControlAllowHeaders] = asked
        }
        return Response(status: .noContent, headers: headers)
    }

    /// `Host` without its port: `name:port`, `[v6]:port`, or either alone.
    static func hostname(_ authority: String) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") { return String(authority[...close]) }
        return String(authority.prefix { $0 != ":" })
    }

    /// Lower case, without the trailing dot of a fully qualified name (`localhost.` is `localhost`).
    static func normalised(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
    }
}
