import Testing
import SwitchyardPolicy
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#endif

/// Debian's headless Chromium, driven through a plan of steps by Tests/browser/browser_plan.py
/// (the DevTools protocol on a pipe, Python's standard library only). The script reports what
/// it read from the page, every request the page made, and what the console said; the test
/// judges.
enum Chromium {
    static let executable: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { access($0, X_OK) == 0 }

    /// The browser's path; cancels the test, saying why, when it is not installed.
    static func require() throws -> String {
        guard let executable else {
            try Test.cancel("Chromium is not installed (apt-get install chromium, which scripts/setup.sh does as root): the dashboard's browser test is skipped")
        }
        return executable
    }

    struct Request: Sendable {
        var url: String
        var method: String
        /// Names in lower case.
        var headers: [String: String]
    }

    struct Run: Sendable {
        var reads: JSON
        var requests: [Request]
        var console: [String]
        var exceptions: [String]
        var csp: [String]
        var error: String?
        var seconds: Double
    }

    /// Runs `steps` (see browser_plan.py) within `limit`. Cancels the test, saying why, when
    /// Chromium is not installed or cannot start; fails it when a step fails.
    static func run(_ steps: [JSON], width: Int = 1024, height: Int = 800, limit: Duration = .seconds(120)) async throws -> Run {
        let executable = try require()
        let python = Fixtures.pythonPath ?? "/usr/bin/python3"
        let script = #filePath.components(separatedBy: "/SwitchyardTests/")[0] + "/browser/browser_plan.py"
        let directory = try Fixtures.temporaryDirectory()
        let (planPath, resultPath) = (directory + "/plan.json", directory + "/result.json")
        let plan = JSON.object(["chromium": .string(executable), "timeout": .int(Int(limit.components.seconds)), "width": .int(width),
                                "height": .int(height), "steps": .array(steps)])
        try Fixtures.writeFile(planPath, plan.text)
        let child = try ChildProcess.spawn(executable: python, arguments: [script, planPath, resultPath], logPath: directory + "/driver.log")
        guard let exit = await child.wait(timeout: limit + .seconds(15)) else {
            kill(-child.pid, SIGKILL)  // the driver and the Chromium it started share its process group
            _ = await child.wait(timeout: .seconds(10))
            throw FixtureError("the browser plan did not finish within \(limit): \(TextFile.read(directory + "/driver.log") ?? "")")
        }
        guard let text = TextFile.read(resultPath), let result = try? JSON.parse(Array(text.utf8)) else {
            throw FixtureError("the browser plan \(exit) without a result: \(TextFile.read(directory + "/driver.log") ?? "")")
        }
        let error = result["error"]?.stringValue
        if exit == .exited(2) { try Test.cancel("Chromium could not start: \(error ?? "no reason given"): the dashboard's browser test is skipped") }
        let requests = (result["requests"]?.arrayValue ?? []).map { entry in
            var headers: [String: String] = [:]
            for (name, value) in entry["headers"]?.objectValue?.fields ?? [] { headers[name.lowercased()] = value.stringValue ?? "" }
            return Request(url: entry["url"]?.stringValue ?? "", method: entry["method"]?.stringValue ?? "", headers: headers)
        }
        func strings(_ name: String) -> [String] { (result[name]?.arrayValue ?? []).map { $0.stringValue ?? "\($0)" } }
        let run = Run(reads: result["reads"] ?? .null, requests: requests, console: strings("console"), exceptions: strings("exceptions"),
                      csp: strings("csp"), error: error, seconds: result["seconds"]?.doubleValue ?? 0)
        if let error { throw FixtureError("browser plan: \(error); console: \(run.console); exceptions: \(run.exceptions)") }
        return run
    }

    static func open(_ url: String) -> JSON { .object(["do": .string("open"), "url": .string(url)]) }
    static func wait(_ js: String, timeout: Int = 30) -> JSON { .object(["do": .string("wait"), "js": .string(js), "timeout": .int(timeout)]) }
    static func eval(_ js: String) -> JSON { .object(["do": .string("eval"), "js": .string(js)]) }
    static func read(_ name: String, _ js: String) -> JSON { .object(["do": .string("read"), "name": .string(name), "js": .string(js)]) }
    static func screenshot(_ path: String, scale: Double = 1) -> JSON {
        .object(["do": .string("screenshot"), "path": .string(path), "scale": .double(scale)])
    }
    static func fulfill(_ path: String, status: Int, json: JSON) -> JSON {
        .object(["do": .string("fulfill"), "path": .string(path), "status": .int(status), "json": json])
    }
}
