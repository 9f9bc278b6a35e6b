import HTTPTypes
import Hummingbird
import SwitchyardWire

/// A body the gateway reads is JSON, and says so: `Content-Type: application/json` (parameters
/// such as `charset` allowed), which the OpenAI and Anthropic SDKs always send. A web page can make
/// a browser POST `text/plain`, `application/x-www-form-urlencoded` or `multipart/form-data` bodies
/// anywhere without a CORS preflight (a form does it without script), and the body would be read as
/// JSON all the same: so those are refused with 415.
///
/// Two exceptions, for requests that carry a key (`Authorization` or `x-api-key`): no
/// `Content-Type`, and curl's `-d` default, `application/x-www-form-urlencoded`. A page cannot add
/// either header to a cross-origin request without a preflight, which `BrowserGuard` refuses, so
/// such a request is not a page's. The key is then checked as usual (under `auth: off`, not at all).
struct JSONContentType: RouterMiddleware {
    typealias Context = GatewayRequestContext
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post else { return try await next(request, context) }
        let types = request.headers[values: .contentType]
        let mediaType = types.count == 1 ? Self.mediaType(types[0]) : nil
        if mediaType == "application/json" { return try await next(request, context) }
        let hasKey = AuthMiddleware.secret(request.headers) != nil
        if hasKey, types.isEmpty || mediaType == "application/x-www-form-urlencoded" { return try await next(request, context) }
        let sent = types.isEmpty ? "no Content-Type" : types.count > 1 ? "\(types.count) Content-Type headers" : "Content-Type \(types[0])"
        return FrontEnd(path: request.uri.path).errorResponse(GatewayError(status: 415, code: "unsupported_media_type",
            message: "The body must be JSON sent as `Content-Type: application/json` (curl: -H 'content-type: application/json'); this request has \(sent)."))
    }

    /// `type/subtype` in lower case, without parameters or spaces.
    static func mediaType(_ value: String) -> String {
        value.prefix { $0 != ";" }.trimming(" ").lowercased()
    }
}
