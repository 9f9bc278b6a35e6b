import Hummingbird
import SwitchyardWire

/// Whatever escapes a handler (an unknown path, a framework error) still reaches the client
/// as an error body in its front's format, never an empty page or a dropped connection.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let front = FrontEnd(path: request.uri.path)
        do {
            return try await next(request, context)
        } catch let error as GatewayError {
            return front.errorResponse(error)
        } catch let error as HTTPResponseError {
            switch error.status {
            case .notFound:
                return front.errorResponse(.notFound(path: request.uri.path))
            case .methodNotAllowed:
                return front.errorResponse(GatewayError(status: 405, code: "method_not_allowed",
                                                              message: "Method \(request.method) is not allowed on \(request.uri.path)."))
            case .contentTooLarge:
                return front.errorResponse(GatewayError(status: 413, code: "request_too_large",
                                                              message: "Request body too large."))
            default:
                return front.errorResponse(GatewayError(status: Int(error.status.code), message: "\(error)"))
            }
        } catch {
            return front.errorResponse(.internalError("\(error)"))
        }
    }
}
