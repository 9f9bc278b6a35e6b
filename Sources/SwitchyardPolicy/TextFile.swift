#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads and writes without Foundation, for policies, weights, data sets and /proc.
public enum TextFile {
    /// The file's text, or nil if it cannot be read or is not UTF-8.
    public static func read(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        guard let bytes = readBytes(file, limit: nil) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Why a bounded read failed, worded for a diagnostic.
    public enum ReadError: Error, Sendable, Equatable, CustomStringConvertible {
        case cannotOpen(String)
        case notARegularFile
        case tooLarge(limit: Int)
        case notUTF8

        public var description: String {
            switch self {
            case .cannotOpen(let reason): "cannot read it: \(reason)"
            case .notARegularFile: "it is not a regular file"
            case .tooLarge(let limit): "it is larger than \(limit) bytes"
            case .notUTF8: "it is not UTF-8 text"
            }
        }
    }

    /// The text of a regular file of at most `maxBytes` bytes. For files an operator names
    /// (a policy, its calibration): a device, a FIFO or a huge file is refused instead of
    /// blocking or filling memory.
    public static func read(_ path: String, maxBytes: Int) -> Result<String, ReadError> {
        // Checked before opening too: opening a FIFO would block until someone writes to it.
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG { return .failure(.notARegularFile) }
        guard let file = fopen(path, "rb") else { return .failure(.cannotOpen(String(cString: strerror(errno)))) }
        defer { fclose(file) }
        guard fstat(fileno(file), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return .failure(.notARegularFile) }
        guard let bytes = readBytes(file, limit: maxBytes) else { return .failure(.tooLarge(limit: maxBytes)) }
        guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(.notUTF8) }
        return .success(text)
    }

    /// Every byte to the end of the file; nil when there are more than `limit`.
    private static func readBytes(_ file: UnsafeMutablePointer<FILE>, limit: Int?) -> [UInt8]? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n > 0 { bytes.append(contentsOf: chunk[0..<n]) }
            if let limit, bytes.count > limit { return nil }
            if n < chunk.count { break }
        }
        return bytes
    }

    /// Writes (or appends) text; false if the file cannot be opened.
    @discardableResult
    public static func write(_ path: String, _ text: String, append: Bool = false) -> Bool {
        guard let file = fopen(path, append ? "ab" : "wb") else { return false }
        defer { fclose(file) }
        return fputs(text, file) >= 0
    }
}
