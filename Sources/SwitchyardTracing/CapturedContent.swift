import SwitchyardWire

/// A request's messages and its answer in the GenAI conventions' JSON (`gen_ai.input.messages`,
/// `gen_ai.output.messages`: a list of `{role, parts: [{type: "text", content}]}`). Made only
/// when the policy opts in (`tracing.capture_content`); without it no span holds any text of a
/// prompt or an answer.
public enum CapturedContent {
    /// The request's turns as the decision read them (each turn's text parts joined), of whichever front.
    public static func input(_ summary: RequestSummary) -> String {
        JSON.array(summary.turns.map { message(role: $0.role.rawValue, text: $0.text) }).text
    }

    public static func output(_ text: String) -> String {
        JSON.array([message(role: "assistant", text: text)]).text
    }

    private static func message(role: String, text: String) -> JSON {
        .object(["role": .string(role), "parts": .array([.object(["type": .string("text"), "content": .string(text)])])])
    }
}
