import Hummingbird
import SwitchyardWire

/// Whatever escapes a handler (an unknown path, a framework error) still reaches the client
/// as an OpenAI-style error body, never an empty page or a dropped connection.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return ChatCompletions.errorResponse(error)
        } catch let error as HTTPResponseError {
            switch error.status {
            case .notFound:
                return ChatCompletions.errorResponse(.notFound(path: request.uri.path))
            case .methodNotAllowed:
                return ChatCompletions.errorResponse(APIError(status: 405, type: "invalid_request_error", code: "method_not_allowed",
                                                              message: "Method \(request.method) is not allowed on \(request.uri.path)."))
            case .contentTooLarge:
                return ChatCompletions.errorResponse(APIError(status: 413, type: "invalid_request_error", code: "request_too_large",
                                                              message: "Request body too large."))
            default:
                return ChatCompletions.errorResponse(APIError(status: Int(error.status.code), type: "invalid_request_error",
                                                              message: "\(error)"))
            }
        } catch {
            return ChatCompletions.errorResponse(.internalError("\(error)"))
        }
    }
}
