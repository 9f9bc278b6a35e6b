#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads and writes without Foundation, for policies, weights, data sets and /proc.
public enum TextFile {
    /// The file's text, or nil if it cannot be read or is not UTF-8.
    public static func read(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count { break }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Writes (or appends) text; false if the file cannot be opened.
    @discardableResult
    public static func write(_ path: String, _ text: String, append: Bool = false) -> Bool {
        guard let file = fopen(path, append ? "ab" : "wb") else { return false }
        defer { fclose(file) }
        return fputs(text, file) >= 0
    }
}
