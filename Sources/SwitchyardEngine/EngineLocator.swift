import SwitchyardPolicy

#if canImport(Glibc)
import Glibc
#endif

/// Finds llama-server and the default model: explicit setting, then the environment,
/// then what `make setup` recorded in `$SWITCHYARD_HOME/env`, then PATH.
public struct EngineLocator: Sendable {
    public var home: String
    public var environment: [String: String]

    public init(environment: [String: String] = ProcessEnvironment.current) {
        self.environment = environment
        home = environment["SWITCHYARD_HOME"] ?? ((environment["HOME"] ?? "/root") + "/.cache/switchyard")
    }

    /// Values `make setup` wrote (KEY=VALUE lines); the process environment wins over them.
    private var setupValues: [String: String] {
        guard let text = TextFile.read(home + "/env") else { return [:] }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return values
    }

    private func lookup(_ key: String) -> String? {
        environment[key].flatMap { $0.isEmpty ? nil : $0 } ?? setupValues[key]
    }

    public func llamaServer(explicit: String?) throws(EngineError) -> String {
        if let explicit {
            guard access(explicit, X_OK) == 0 else { throw .notFound("llama-server '\(explicit)' (from the policy) is not an executable") }
            return explicit
        }
        if let path = lookup("SWITCHYARD_LLAMA_SERVER"), access(path, X_OK) == 0 { return path }
        for dir in (environment["PATH"] ?? "/usr/local/bin:/usr/bin").split(separator: ":") {
            let candidate = "\(dir)/llama-server"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw .notFound("llama-server not found: run `make setup`, put llama-server on PATH, or set `binary` in the policy")
    }

    public func modelFile(_ setting: String) throws(EngineError) -> String {
        let path = setting == "default" ? lookup("SWITCHYARD_DEFAULT_MODEL") : setting
        guard let path else {
            throw .notFound("the default model is not installed: run `make setup`, or set `model_file` to a GGUF path")
        }
        guard access(path, R_OK) == 0 else { throw .notFound("model file '\(path)' cannot be read") }
        return path
    }
}

public enum EngineError: Error, Sendable, CustomStringConvertible {
    case notFound(String)

    public var description: String {
        switch self {
        case .notFound(let detail): detail
        }
    }
}

/// The process environment as a dictionary, read once.
public enum ProcessEnvironment {
    public static var current: [String: String] {
        var values: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                values[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        return values
    }
}
