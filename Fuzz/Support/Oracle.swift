// Shared by every harness (scripts/fuzz.sh compiles Fuzz/Support/*.swift into each one).
#if canImport(Glibc)
import Glibc
#endif

/// Stops the run when an oracle does not hold: the message goes to stderr and `abort()` makes
/// libFuzzer report a crash and save the input that caused it.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    guard !condition() else { return }
    fail(message(), file: file, line: line)
}

func fail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    var text = "\nORACLE FAILED at \(file):\(line): \(message)\n"
    if text.utf8.count > 4000 { text = String(decoding: text.utf8.prefix(4000), as: UTF8.self) + "...\n" }
    text.withCString { _ = write(2, $0, strlen($0)) }
    abort()
}

/// A short, printable rendering of a value for oracle messages.
func show(_ value: Any) -> String {
    let text = String(reflecting: value)
    return text.count > 600 ? String(text.prefix(600)) + "..." : text
}

/// The input as a buffer; libFuzzer may pass a null pointer for an empty input.
func inputBuffer(_ start: UnsafePointer<UInt8>?, _ count: Int) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: count > 0 ? start : nil, count: count)
}
