import Hummingbird
import SwitchyardWire

/// Whatever escapes a handler (an unknown path, a framework error) still reaches the client
/// as an error body in its front's format, never an empty page or a dropped connection.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            // Only a failed request pays for finding its front.
            return FrontEnd(path: request.uri.path).errorResponse(Self.gatewayError(error, request))
        }
    }

    private static func gatewayError(_ error: any Error, _ request: Request) -> GatewayError {
        switch error {
        case let error as GatewayError:
            return error
        case let error as HTTPResponseError:
            switch error.status {
            case .notFound:
                return .notFound(path: request.uri.path)
            case .methodNotAllowed:
                return GatewayError(status: 405, code: "method_not_allowed", message: "Method \(request.method) is not allowed on \(request.uri.path).")
            case .contentTooLarge:
                return GatewayError(status: 413, code: "request_too_large", message: "Request body too large.")
            default:
                return GatewayError(status: Int(error.status.code), message: "\(error)")
            }
        default:
            return .internalError("\(error)")
        }
    }
}
