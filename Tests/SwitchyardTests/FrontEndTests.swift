import Testing
import SwitchyardWire
@testable import SwitchyardServer

/// Errors raised before a request reaches its front (the key check, the framework's 404 and 413,
/// a browser refused) are rendered by the front its path belongs to, so each SDK reads its own shape.
@Suite("Fronts by path")
struct FrontEndTests {
    @Test("a path belongs to the front under whose route it is", arguments: [
        ("/v1/messages", FrontEnd.anthropic), ("/v1/messages/count_tokens", .anthropic), ("/v1/messagesX", .openAI),
        ("/v1/responses", .responses), ("/v1/responses/resp_1/input_items", .responses), ("/v1/responsesX", .openAI),
        ("/v1/chat/completions", .openAI), ("/v1/models", .openAI), ("/metrics", .openAI),
    ])
    func front(_ path: String, _ expected: FrontEnd) {
        #expect(FrontEnd(path: path) == expected)
    }

    @Test("each front renders an error in its wire format")
    func shapes() {
        let error = GatewayError.invalidRequest("bad", param: "x")
        #expect(FrontEnd.anthropic.body(error)["type"] == .string("error"))
        for front in [FrontEnd.openAI, .responses] { #expect(front.body(error)["error"]?["param"] == .string("x")) }
    }
}
