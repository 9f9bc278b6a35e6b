import Hummingbird
import Synchronization
import SwitchyardEval

/// A real OTLP/HTTP collector on 127.0.0.1: takes `POST /v1/traces` (protobuf), decodes every
/// span with its own reading of the OTLP messages (not the exporter's code, so a test checks
/// what went over the wire), and keeps the raw bodies for tests that look for text that must
/// not be there. Answers 200, or `failWith` when set.
final class OTLPReceiver: Sendable {
    struct Span: Sendable, CustomStringConvertible {
        var traceID: String
        var spanID: String
        /// Nil for a root span.
        var parentSpanID: String?
        var traceState: String
        var name: String
        /// OTLP's numbers: 1 internal, 2 server, 3 client.
        var kind: Int
        var start: UInt64
        var end: UInt64
        var attributes: [String: Attribute]
        /// 0 unset, 1 ok, 2 error.
        var statusCode: Int
        var serviceName: String?

        func string(_ key: String) -> String? { if case .string(let s)? = attributes[key] { s } else { nil } }
        func int(_ key: String) -> Int64? { if case .int(let i)? = attributes[key] { i } else { nil } }
        func double(_ key: String) -> Double? { if case .double(let d)? = attributes[key] { d } else { nil } }
        func bool(_ key: String) -> Bool? { if case .bool(let b)? = attributes[key] { b } else { nil } }

        var description: String { "\(name) [\(spanID) <- \(parentSpanID ?? "root")] \(attributes)" }
    }

    enum Attribute: Sendable, Equatable {
        case string(String)
        case bool(Bool)
        case int(Int64)
        case double(Double)
        case array([Attribute])
        case other
    }

    private struct Record {
        var spans: [Span] = []
        var bodies: [[UInt8]] = []
        var contentTypes: [String] = []
        var undecodable = 0
    }

    private let record = Mutex(Record())
    private let server = Mutex<LoopbackServer?>(nil)

    var spans: [Span] { record.withLock { $0.spans } }
    var bodies: [[UInt8]] { record.withLock { $0.bodies } }
    var contentTypes: [String] { record.withLock { $0.contentTypes } }
    /// Bodies that were not valid OTLP protobuf.
    var undecodable: Int { record.withLock { $0.undecodable } }
    var endpoint: String { "http://127.0.0.1:\(server.withLock { $0?.port ?? 0 })/v1/traces" }

    /// Runs `body` with a started receiver and stops it afterwards, whatever happens.
    @discardableResult
    static func with<T: Sendable>(_ body: (OTLPReceiver) async throws -> T) async throws -> T {
        let receiver = OTLPReceiver()
        try await receiver.start()
        return try await finally({ try await body(receiver) }, then: receiver.stop)
    }

    private func start() async throws {
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            let bytes = Array(body.readableBytesView)
            let decoded = try? Self.decode(bytes)
            self.record.withLock {
                $0.bodies.append(bytes)
                $0.contentTypes.append(request.headers[.contentType] ?? "")
                if let decoded { $0.spans += decoded } else { $0.undecodable += 1 }
            }
            // An empty ExportTraceServiceResponse: full success.
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"], body: .init(byteBuffer: ByteBuffer()))
        }
        let started = await LoopbackServer.start(router, label: "otlp-receiver")
        server.withLock { $0 = started }
    }

    private func stop() async {
        await server.withLock { $0 }?.stop()
    }

    // MARK: OTLP, from opentelemetry-proto's trace.proto, common.proto and resource.proto

    /// ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1 }
    static func decode(_ bytes: [UInt8]) throws -> [Span] {
        var spans: [Span] = []
        for resourceSpans in try ProtoMessage(bytes[...]).messages(1) {
            // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2 }
            let resource = try resourceSpans.messages(1).first.map { try attributes($0.messages(1)) } ?? [:]
            let service: String? = if case .string(let name)? = resource["service.name"] { name } else { nil }
            for scopeSpans in try resourceSpans.messages(2) {
                // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2 }
                for span in try scopeSpans.messages(2) { spans.append(try decodeSpan(span, service: service)) }
            }
        }
        return spans
    }

    /// Span { trace_id = 1; span_id = 2; trace_state = 3; parent_span_id = 4; name = 5; kind = 6;
    /// start_time_unix_nano = 7; end_time_unix_nano = 8; attributes = 9; status = 15 }
    private static func decodeSpan(_ span: ProtoMessage, service: String?) throws -> Span {
        let parent = span.bytes(4).flatMap { $0.isEmpty ? nil : hex($0) }
        // Status { StatusCode code = 3 }
        let status = try span.messages(15).first
        return Span(traceID: hex(span.bytes(1) ?? []), spanID: hex(span.bytes(2) ?? []), parentSpanID: parent,
                    traceState: span.string(3) ?? "", name: span.string(5) ?? "", kind: Int(span.varint(6) ?? 0),
                    start: span.fixed64(7) ?? 0, end: span.fixed64(8) ?? 0, attributes: try attributes(span.messages(9)),
                    statusCode: Int(status?.varint(3) ?? 0), serviceName: service)
    }

    /// KeyValue { string key = 1; AnyValue value = 2 }
    private static func attributes(_ pairs: [ProtoMessage]) throws -> [String: Attribute] {
        var attributes: [String: Attribute] = [:]
        for pair in pairs {
            guard let key = pair.string(1) else { continue }
            attributes[key] = try pair.messages(2).first.map(value) ?? .other
        }
        return attributes
    }

    /// AnyValue { oneof { string = 1; bool = 2; int64 = 3; double = 4; ArrayValue array = 5 } }
    private static func value(_ any: ProtoMessage) throws -> Attribute {
        if let s = any.string(1) { return .string(s) }
        if let b = any.varint(2) { return .bool(b != 0) }
        if let i = any.varint(3) { return .int(Int64(bitPattern: i)) }
        if let d = any.fixed64(4) { return .double(Double(bitPattern: d)) }
        // ArrayValue { repeated AnyValue values = 1 }
        if let array = try any.messages(5).first { return .array(try array.messages(1).map(value)) }
        return .other
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}

/// A protobuf message as the wire format has it: each field's number and raw value, in order.
struct ProtoMessage {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)
    }

    struct Malformed: Error {}

    var fields: [(number: Int, value: Value)] = []

    init(_ bytes: ArraySlice<UInt8>) throws {
        var index = bytes.startIndex
        func varint() throws -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard index < bytes.endIndex, shift < 64 else { throw Malformed() }
                let byte = bytes[index]
                index += 1
                result |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }
        func fixed(_ count: Int) throws -> UInt64 {
            guard bytes.endIndex - index >= count else { throw Malformed() }
            var result: UInt64 = 0
            for i in 0..<count { result |= UInt64(bytes[index + i]) << (8 * UInt64(i)) }
            index += count
            return result
        }
        while index < bytes.endIndex {
            let key = try varint()
            let number = Int(key >> 3)
            switch key & 7 {
            case 0: fields.append((number, .varint(try varint())))
            case 1: fields.append((number, .fixed64(try fixed(8))))
            case 2:
                let length = try varint()
                guard length <= UInt64(bytes.endIndex - index) else { throw Malformed() }
                let end = index + Int(length)
                fields.append((number, .bytes(bytes[index..<end])))
                index = end
            case 5: fields.append((number, .fixed32(UInt32(try fixed(4)))))
            default: throw Malformed()
            }
        }
    }

    func messages(_ number: Int) throws -> [ProtoMessage] {
        try fields.compactMap { field in
            guard field.number == number, case .bytes(let bytes) = field.value else { return nil }
            return try ProtoMessage(bytes)
        }
    }

    func bytes(_ number: Int) -> [UInt8]? {
        for field in fields where field.number == number { if case .bytes(let b) = field.value { return Array(b) } }
        return nil
    }

    func string(_ number: Int) -> String? { bytes(number).map { String(decoding: $0, as: UTF8.self) } }

    func varint(_ number: Int) -> UInt64? {
        for field in fields where field.number == number { if case .varint(let v) = field.value { return v } }
        return nil
    }

    func fixed64(_ number: Int) -> UInt64? {
        for field in fields where field.number == number { if case .fixed64(let v) = field.value { return v } }
        return nil
    }
}
